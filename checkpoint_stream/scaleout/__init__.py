"""Scale-out internals: what :mod:`checkpoint_stream.dask` distributes, kept free of Dask.

* :mod:`.ranges` -- one large uncompressed stream cut into byte ranges, parsed range by range
  with exactly the sequential result (records, errors, document indices, offsets, lines);
* :mod:`.grouping` -- the archive-level chain analysis split by VM, with the few facts that cross
  groups gathered first, so each VM's chain is analysed where it lands by the unchanged
  :class:`~checkpoint_stream.chain.ChainBuilder`;
* :mod:`.inputs` -- paths, globs, folders and URLs expanded into one partition each.

Nothing here imports Dask: these are plain functions a task runs, testable without a cluster.
"""
