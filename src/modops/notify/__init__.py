"""Telling other systems and people what happened: signed webhooks and stored alert episodes.

Domain code (no web imports): the API, the web pages and the background jobs all use it.
"""
