"""The bundled data, shipped inside the package as ``whatworks.data`` (see README.md)."""
