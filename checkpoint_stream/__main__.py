"""``python -m checkpoint_stream``: the ``checkpoint-stream`` command line."""

from .cli import command

if __name__ == "__main__":
    command()
