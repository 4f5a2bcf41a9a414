"""A throwaway JupyterHub on loopback, for the test of the whole class loop (tests/test_class_loop_hub.py)."""
