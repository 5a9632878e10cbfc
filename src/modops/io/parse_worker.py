"""The parse process of a parallel import: ``python -m modops.io.parse_worker FD``.

Reads its job (pickled by ``modops.io.importer._ChildParser``) from stdin and sends batches
of store-ready rows, then the outcome, through the pipe ``FD``. It touches no database.
"""

from __future__ import annotations

import pickle
import sys
from multiprocessing.connection import Connection


def main() -> None:
    pipe = Connection(int(sys.argv[1]), readable=False)
    job = pickle.load(sys.stdin.buffer)
    from modops.io.parsing import _parse_in_child

    _parse_in_child(pipe, *job)


if __name__ == "__main__":
    main()
