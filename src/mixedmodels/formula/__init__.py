"""formula subpackage."""
