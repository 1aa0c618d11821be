"""Storage: the store interfaces callers depend on, and one package per backend implementing them.

`storage.history`, `storage.threads` and `storage.usage` hold each store's records and its
interface (a Protocol); `storage.sqlite` (the zero-setup default) and `storage.postgres` implement
them; :func:`storage.connect.open_storage` opens the one `DATABASE_URL` names.
"""
