"""Helpers shared by the scenario scripts (topics.py, cluster.py)."""
import sys
import time


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def wait_until(what, check, timeout):
    """Polls check() -> (done, state) until done or the deadline passes;
    returns the last state."""
    deadline = time.time() + timeout
    state = None
    while time.time() < deadline:
        done, state = check()
        if done:
            return state
        time.sleep(0.25)
    fail("timed out after %ds waiting for %s; last state: %r" % (timeout, what, state))


_ADMIN = {}


def admin(bootstrap):
    """One confluent-kafka AdminClient per bootstrap and run (a handle
    destroyed while a future is pending fails the future)."""
    from confluent_kafka.admin import AdminClient
    if bootstrap not in _ADMIN:
        _ADMIN[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return _ADMIN[bootstrap]
