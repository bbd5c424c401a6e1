"""`interdict demo`: the whole chain on the bundled demo markets (interdict/demo)."""

from __future__ import annotations

from interdict.commands.base import Command, add_store_option


class Demo(Command):
    name = "demo"
    help = "run the whole chain on the bundled demo markets and print a summary"
    description = ("Start the demo marketplaces on loopback, crawl them, enrich, index into the embedded store, "
                   "and print a summary and a sample search.")

    def add_options(self, parser):
        add_store_option(parser)
        parser.add_argument("--seed", type=int, help="content seed (default: config demo.seed)")
        parser.add_argument("--epoch", type=int, help="market state; a later epoch moves some prices")
        parser.add_argument("--tor", action="store_true", help="serve the markets as onion services on a private "
                            "Tor network and crawl them through it")
        parser.add_argument("--walls", action="store_true", help="with --serve-only: a members-only section behind "
                            "a login (Sable) and a CAPTCHA (Vesper)")
        parser.add_argument("--serve-only", action="store_true",
                            help="only serve the demo markets on their configured URLs until interrupted")
        parser.add_argument("--verbose", action="store_true", help="Scrapy's INFO log on stderr")

    def run(self, args, config) -> int:
        from interdict.demo.run import run_demo, serve_only

        seed = config.demo.seed if args.seed is None else args.seed
        epoch = config.demo.epoch if args.epoch is None else args.epoch
        if args.serve_only:
            return serve_only(config, seed, epoch, walls=args.walls)
        return run_demo(config, seed, epoch, args.store or config.store.path, args.verbose, tor=args.tor)
