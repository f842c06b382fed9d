"""The core every stage shares: configuration, errors, namespaces, the generated vocabulary,
the store backends behind one :class:`~whatworks.core.store.Store` protocol, the query
catalogue and its loader, and validation. It imports nothing else of whatworks."""
