package dev.fulcrum.routing;

/**
 * The live loads of one table's backends, in table order, read straight from their {@link PoolLoad} chunk: a scan
 * reads two flat int arrays instead of one counter object per backend. Pools that have had more backends than a
 * chunk holds (a rare case) read through one more indirection.
 *
 * <p>Reads are plain: the data plane reads the volatile {@link TableRef} before every pick, which keeps the compiler
 * from reusing loads across picks, and a count that is a moment old is as good for balancing as an exact one.
 */
final class LoadView {
  private final int[] chunk;
  private final int[][] chunkOf;
  private final int[] index;

  LoadView(RoutedBackend[] backends) {
    int[][] chunks = new int[backends.length][];
    index = new int[backends.length];
    boolean oneChunk = true;
    for (int i = 0; i < backends.length; i++) {
      BackendStats stats = backends[i].stats();
      chunks[i] = stats.pool().chunks()[stats.slot() >>> PoolLoad.CHUNK_BITS];
      index[i] = stats.slot() & PoolLoad.CHUNK_MASK;
      oneChunk &= chunks[i] == chunks[0];
    }
    chunk = oneChunk && backends.length > 0 ? chunks[0] : null;
    chunkOf = chunk == null ? chunks : null;
  }

  /** The one chunk holding every backend's counter, or null when they are spread over several. */
  int[] chunk() {
    return chunk;
  }

  /** Where the table's backend {@code i} has its counter in its chunk. */
  int index(int i) {
    return index[i];
  }

  /** Connections plus requests in flight of the table's backend {@code i}, as of now. */
  int load(int i) {
    return chunk != null ? chunk[index[i]] : chunkOf[i][index[i]];
  }
}
