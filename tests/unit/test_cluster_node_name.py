"""NodeName: a cluster subscription's ``node``, a ``"host:port"`` string that reads as
redis-py's ClusterNode (host, port, name) and equals the ClusterNode of that node."""

from __future__ import annotations

from pyredisclient.cluster import ClusterNode
from pyredisclient.cluster.commands import NodeName


def test_reads_as_a_string_and_as_a_node() -> None:
    name = NodeName("10.0.0.5:7001")
    assert (name.host, name.port, name.name) == ("10.0.0.5", 7001, "10.0.0.5:7001")
    assert name == "10.0.0.5:7001" and isinstance(name, str) and name.split(":")[1] == "7001"
    v6 = NodeName("[::1]:7000")
    assert (v6.host, v6.port) == ("::1", 7000)


def test_equals_the_cluster_node_of_that_node_only() -> None:
    name = NodeName("h:1")
    node = ClusterNode("h", 1)
    assert name == node and node == name and not (name != node) and not (node != name)
    assert name != ClusterNode("h", 2) and ClusterNode("h", 2) != name
    assert name != "h:2" and name != 1
    # It and the node are one key of a set or dict; it finds its string's entry.
    assert len({name, node}) == 1 and {"h:1": "x"}[name] == "x"
    # A plain string stays unequal to a ClusterNode, as in redis-py.
    assert node != "h:1"
