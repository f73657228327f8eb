"""objective subpackage."""
