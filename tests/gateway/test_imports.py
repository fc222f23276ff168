"""The gateway's modules import one way only: no circle, annotation-only imports included.

A lower part names what it needs of a higher one as a Protocol (``ports.py``) rather
than importing it, even under ``TYPE_CHECKING``; docs/gateway.md gives the order.
"""

import grimp

PACKAGE = "unkai.platform.gateway"


def test_the_gateway_modules_import_without_a_circle() -> None:
    graph = grimp.build_graph("unkai", cache_dir=None)  # TYPE_CHECKING imports count
    modules = set(graph.find_descendants(PACKAGE))
    imports = {
        module: sorted(graph.find_modules_directly_imported_by(module) & modules)
        for module in modules
    }
    done: set[str] = set()

    def circle_from(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in imports[module]:
            found = circle_from(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(modules):
        circle = circle_from(module, [])
        assert circle is None, " → ".join(name.rsplit(".", 1)[1] for name in circle)
