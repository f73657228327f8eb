"""results subpackage."""
