"""How requests leave the crawler: the routing download handler (Tor or direct), stream
isolation, failing closed when Tor is down, the egress guard, mirrors, circuit renewal."""
