"""linalg subpackage."""
