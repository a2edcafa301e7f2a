"""The graph of what services depend on (Service.depends_on), read whole: a few hundred edges
at most, walked in Python. Used to refuse a cycle, to grey out the services that would make
one, and to fire a dependency's alerts before its dependents'."""

from __future__ import annotations

from .models import Service


def edges(reverse: bool = False) -> dict[int, set[int]]:
    """{service id: the ids it depends on}, or with reverse {service id: the ids depending on it}."""
    found: dict[int, set[int]] = {}
    for source, target in Service.depends_on.through.objects.values_list("from_service_id", "to_service_id"):
        if reverse:
            source, target = target, source
        found.setdefault(source, set()).add(target)
    return found


def path(start: int, goal: int, graph: dict[int, set[int]]) -> list[int] | None:
    """The ids from start to goal along the graph, both included; None when goal is out of reach."""
    came_from: dict[int, int | None] = {start: None}
    todo = [start]
    while todo:
        current = todo.pop()
        if current == goal:
            found = [current]
            while (previous := came_from[found[-1]]) is not None:
                found.append(previous)
            return found[::-1]
        for following in graph.get(current, ()):
            if following not in came_from:
                came_from[following] = current
                todo.append(following)
    return None


def reachable(start: int, graph: dict[int, set[int]]) -> set[int]:
    """Every id reached from start along the graph, start itself left out."""
    seen: set[int] = set()
    todo = [start]
    while todo:
        for following in graph.get(todo.pop(), ()):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    seen.discard(start)
    return seen


def depending_on(service_id: int) -> set[int]:
    """The services that depend on this one, directly or through others."""
    return reachable(service_id, edges(reverse=True))
