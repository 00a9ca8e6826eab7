"""Components by field name, and handlers that receive their values by name.

Every event in scribe.web is wired with `on`: its inputs are a dict {field name: component}, and its
handler gets one `Values` (those names -> what the page or the API request sent), never a tuple to
slice. Gradio passes the values as keyword arguments (`inputs_kwargs`), so an endpoint's parameters
in the API docs and in gradio_client are the dict's names, in its order.
"""
from __future__ import annotations

import functools
import inspect

import gradio as gr


class Values(dict):
    """One event's input values by field name; a field the event does not take reads as None (blank:
    its default, in scribe.web.forms). `request` is the event's gr.Request (None outside the server)."""

    request: gr.Request | None = None

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)


class Fields:
    """A registry of components by field name ("part.field"), so that wiring names what it reads."""

    def __init__(self):
        self._by_name: dict[str, gr.components.Component] = {}

    def add(self, name: str, component):
        if name in self._by_name:
            raise ValueError(f"field {name!r} is registered twice")
        self._by_name[name] = component
        return component

    def __getitem__(self, name: str):
        return self._by_name[name]

    def part(self, part: str) -> dict:
        """The fields of one part of the page, by their short names, in the order they were added."""
        prefix = part + "."
        return {n[len(prefix):]: c for n, c in self._by_name.items() if n.startswith(prefix)}


def by_name(fn, names):
    """A Gradio handler for `fn(values)`: the event's `inputs_kwargs` (named `names`) reach `fn` as one
    Values with its request. Each name is an optional keyword (default None) in the signature Gradio
    reads, so an API client may leave any of them out, as with a plain function's `name=None`."""
    def values(request, kwargs) -> Values:
        v = Values(kwargs)
        v.request = request
        return v

    if inspect.isgeneratorfunction(fn):
        def run(request: gr.Request, **kwargs):
            return (yield from fn(values(request, kwargs)))
    else:
        def run(request: gr.Request, **kwargs):
            return fn(values(request, kwargs))
    functools.update_wrapper(run, fn, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
    run.__signature__ = inspect.Signature(
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request)]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None) for n in names])
    return run


def on(trigger, fn, inputs: dict, outputs=None, **options):
    """Wire `fn(values)` to `trigger` (an event such as button.click, or a list of them): `inputs` is
    {field name: component}. Returns the event (its dependency), for `cancels=` and `.then`."""
    triggers = trigger if isinstance(trigger, (list, tuple)) else [trigger]
    return gr.on(triggers, by_name(fn, list(inputs)), inputs_kwargs=dict(inputs), outputs=outputs, **options)
