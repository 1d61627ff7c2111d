"""Small, complete examples that the course notebooks and the tests share."""
