"""Which door serves which host: the public listener public routes only, the internal
listener every route by every name (cluster-local ones included)."""

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway.routing import Router


def router() -> Router[str]:
    routes: Router[str] = Router(lambda key: key.name)
    routes.add(
        "default",
        RoutingTable(
            "hello.default.localhost",
            (("hello-00001", 100),),
            {"v1-hello.default.localhost": "hello-00001"},
            aliases=("hello.default.svc.cluster.local", "hello.default.svc"),
            tag_aliases={
                "v1-hello.default.svc.cluster.local": "hello-00001",
                "v1-hello.default.svc": "hello-00001",
            },
        ),
    )
    routes.add(
        "default",
        RoutingTable(
            "secret.default.svc.cluster.local",
            (("secret-00001", 100),),
            {"v1-secret.default.svc.cluster.local": "secret-00001"},
            aliases=("secret.default.svc",),
            tag_aliases={"v1-secret.default.svc": "secret-00001"},
            public=False,
        ),
    )
    return routes


def test_public_hosts_leave_out_cluster_local_routes_and_names() -> None:
    assert set(router().hosts) == {b"hello.default.localhost", b"v1-hello.default.localhost"}


def test_the_inside_view_has_every_name() -> None:
    routes = router()
    inside = routes.internal.hosts
    assert set(inside) == {
        b"hello.default.localhost", b"v1-hello.default.localhost",
        b"hello.default.svc.cluster.local", b"hello.default.svc",
        b"v1-hello.default.svc.cluster.local", b"v1-hello.default.svc",
        b"secret.default.svc.cluster.local", b"v1-secret.default.svc.cluster.local",
        b"secret.default.svc", b"v1-secret.default.svc",
    }  # fmt: skip
    assert inside[b"v1-hello.default.svc"].choose() == "hello-00001"
    assert inside[b"v1-secret.default.svc"].choose() == "secret-00001"
    assert inside[b"secret.default.svc"].choose() == "secret-00001"
    assert inside[b"hello.default.svc"].choose() == "hello-00001"
    assert routes.revisions() == {
        RevisionKey("default", "hello-00001"),
        RevisionKey("default", "secret-00001"),
    }


def test_removing_a_route_removes_it_from_both_doors() -> None:
    routes = router()
    routes.remove("secret.default.svc.cluster.local")
    assert b"secret.default.svc" not in routes.internal.hosts
    assert b"v1-secret.default.svc" not in routes.internal.hosts
    assert b"hello.default.svc" in routes.internal.hosts
