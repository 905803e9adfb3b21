"""Plumbing tests of the hosts (root only): namespaces are built and fully
removed, a blackhole cut really cuts and healing restores, random loss drops
about the share asked for, stale namespaces of a dead runner are removed.
No broker involved. Run: ``cd compat-tests && python -m unittest chaos.test_netns``.
"""

import os
import subprocess
import sys
import unittest

from chaos import netns
from chaos.netns import Topology

# A UDP receiver counting datagrams for 1.5 s after the first, and a sender.
RECEIVE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5000))
s.settimeout(3.0)
n = 0
try:
    s.recv(100); n = 1; s.settimeout(1.5)
    while True:
        s.recv(100); n += 1
except OSError:
    pass
print(n)
"""
SEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])):
    try:
        s.sendto(b"x", (sys.argv[1], 5000))
    except OSError:
        pass
    time.sleep(0.0005)
"""


def udp_delivered(topo: Topology, src: int, dst: int, count: int) -> int:
    """Datagrams node ``dst`` receives of ``count`` sent by ``src``."""
    rx = subprocess.Popen(["ip", "netns", "exec", topo.node_ns(dst), sys.executable, "-c", RECEIVE,
                           topo.node_ip(dst)], stdout=subprocess.PIPE, text=True)
    # The receiver binds before the first datagram: ARP and the bind race a
    # little, so a few hundred datagrams are sent.
    subprocess.run(["ip", "netns", "exec", topo.node_ns(src), sys.executable, "-c",
                    "import time; time.sleep(0.5)\n" + SEND, topo.node_ip(dst), str(count)], check=True, timeout=60)
    out, _ = rx.communicate(timeout=30)
    return int(out.strip() or 0)


class NetnsTest(unittest.TestCase):
    def setUp(self):
        # Fails, never skips: without root there are no namespaces to test.
        self.assertEqual(os.geteuid(), 0, "the chaos harness needs root (ip netns, tc)")
        self.topo = Topology(f"{os.getpid()}-99", 2)
        self.topo.create()

    def tearDown(self):
        self.topo.destroy()
        left = [n for n in netns.list_netns() if n.startswith(self.topo.prefix)]
        self.assertEqual(left, [], "every namespace of the run is removed")

    def test_cut_cuts_and_heal_restores(self):
        self.assertGreater(udp_delivered(self.topo, 1, 2, 200), 150)
        self.topo.isolate(1, [2])
        self.assertEqual(udp_delivered(self.topo, 1, 2, 200), 0)
        self.assertEqual(udp_delivered(self.topo, 2, 1, 200), 0)
        self.topo.heal_routes()
        self.assertGreater(udp_delivered(self.topo, 2, 1, 200), 150)

    def test_loss_drops_about_the_share_asked_for(self):
        self.assertGreater(udp_delivered(self.topo, 1, 2, 200), 150)  # neighbours known
        method = self.topo.loss(1, 50)
        # Both ends are shaped: one way loses about half.
        got = udp_delivered(self.topo, 1, 2, 1000)
        self.assertTrue(300 < got < 700, f"{got} of 1000 delivered with 50% loss ({method})")
        self.topo.clear_link(1)
        self.assertGreater(udp_delivered(self.topo, 1, 2, 200), 150)

    def test_stale_namespaces_of_dead_runners_are_removed(self):
        dead = 2**22 + 12345  # above pid_max's default: no such process
        name = f"ms-{dead}-0-n1"
        netns.sh("ip", "netns", "add", name)
        try:
            self.assertIn(name, netns.clean_stale())
            self.assertNotIn(name, netns.list_netns())
            # Our own (live) run is kept.
            self.assertIn(self.topo.client, netns.list_netns())
        finally:
            netns.sh("ip", "netns", "del", name, check=False)


if __name__ == "__main__":
    unittest.main()
