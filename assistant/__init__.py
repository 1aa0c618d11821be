"""The assistant's services: everything between a cog and storage (see the README's "shape of the code")."""

__version__ = "0.2.0"
