"""Configs, level splits and game constants: the pieces every stage shares, free of Ray."""
