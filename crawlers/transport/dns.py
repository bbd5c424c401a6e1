"""Name resolution for direct (clearnet) fetches that refuses what the egress guard refuses:
a name that resolves to a loopback, private, link-local (cloud metadata), multicast,
reserved or unspecified address — IPv4, IPv6 or v4-mapped — gets no address at all.

This is Scrapy's TWISTED_DNS_RESOLVER, so the address checked here is the very address the
connection is made to: no second lookup happens between check and connect, and a name that
rebinds to 127.0.0.1 after a first public answer is checked again on its next resolution.
Tor routes never come here (their names resolve at the exit). Names a market explicitly
lives at (`allow_private_targets`: its base URLs' host names, setting
INTERDICT_PRIVATE_HOSTS) resolve as they are; the egress guard keeps other markets off them.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from twisted.internet.interfaces import IAddress, IHostnameResolver, IHostResolution, IResolutionReceiver
from zope.interface import implementer, provider

from crawlers.addon import interdict_config, private_hosts
from crawlers.transport.egress import ip_literal, is_internal_ip

log = logging.getLogger(__name__)


@provider(IResolutionReceiver)
class _Guard:
    """Passes on the public addresses of a resolution, drops (and says) the others."""

    def __init__(self, receiver: IResolutionReceiver, name: str, on_blocked):
        self.receiver, self.name, self.on_blocked = receiver, name, on_blocked
        self.passed, self.blocked = 0, []

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        host = getattr(address, "host", "")
        try:
            internal = is_internal_ip(ipaddress.ip_address(host.split("%", 1)[0]))
        except ValueError:
            internal = True  # not an IP address: nothing we can vouch for
        if internal:
            self.blocked.append(host)
        else:
            self.passed += 1
            self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        if self.blocked and not self.passed:
            self.on_blocked(self.name, self.blocked)
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class EgressGuardResolver:
    def __init__(self, reactor, private_hosts: Sequence[str] = ()):
        self.reactor = reactor
        self.original = reactor.nameResolver
        self.private_hosts = frozenset(h.lower().rstrip(".") for h in private_hosts)

    @classmethod
    def from_crawler(cls, crawler, reactor) -> "EgressGuardResolver":
        # Built once per process, from the CrawlerProcess's settings (Scrapy passes it), which
        # the add-on does not see: the markets' private hosts come from the configuration here.
        settings = crawler.settings
        return cls(reactor, [*settings.getlist("INTERDICT_PRIVATE_HOSTS"), *private_hosts(interdict_config(settings))])

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def _blocked(self, name: str, addresses: list[str]) -> None:
        log.warning("egress blocked (resolves_to_private_address): %s resolves to %s only; not connected",
                    name, ", ".join(sorted(set(addresses))))

    def resolveHostName(self, resolutionReceiver: IResolutionReceiver, hostName: str, portNumber: int = 0,
                        addressTypes: Sequence[type[IAddress]] | None = None,
                        transportSemantics: str = "TCP") -> IHostResolution:
        name = hostName.lower().rstrip(".")
        if ip_literal(name) is not None or name in self.private_hosts:
            # IP literals were judged by the egress guard, with the market's own allowance
            receiver = resolutionReceiver
        else:
            receiver = _Guard(resolutionReceiver, hostName, self._blocked)
        return self.original.resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)
