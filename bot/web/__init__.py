"""The web console for curators and reviewers (`sprout web`): a front end over knowledge/, no logic of its own."""

from .app import create_app

__all__ = ["create_app"]
