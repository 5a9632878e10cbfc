"""Thin route handlers: parse, ask the policy, call one use case, shape the answer."""
