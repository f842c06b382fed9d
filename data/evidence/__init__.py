"""The bundled evidence base: coding sheets (CSV) shipped with the package."""
