"""Sources yield posts in one shape; they never write to the warehouse themselves."""
