"""Configuration: the contract's variables, the data directory's guards and where outputs may go."""
