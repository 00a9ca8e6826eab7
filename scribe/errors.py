"""The one error base. Every error a user can cause is a ScribeError: its message says what is wrong and
how to fix it, and its class carries the title a front end shows above the message. The CLI catches
ScribeError and prints `error: message`; the app turns any ScribeError into a Gradio error with its
title (scribe.web.api.as_gr_error); front ends keep no lists of error classes.

Each subclass also keeps the builtin base it always had (ValueError, RuntimeError), so existing
`except ValueError` code still catches it.
"""
from __future__ import annotations


class ScribeError(Exception):
    """Base of every user-facing error."""
    title = "Cannot do this"


class InputError(ScribeError, ValueError):
    """Something in the user's request that cannot be written; the message says what and how to fix it."""
    title = "Cannot write this"
