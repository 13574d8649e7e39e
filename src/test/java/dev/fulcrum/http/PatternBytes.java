package dev.fulcrum.http;

import java.io.InputStream;
import java.util.zip.CRC32;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** A long, non-repeating-looking byte sequence generated on the fly, so tests can stream gigabytes without holding them. */
final class PatternBytes {
  private static final int BLOCK = 64 * 1024;
  /** 64 KiB plus one prime: consecutive blocks start at different offsets, so a dropped or repeated block changes the CRC. */
  private static final byte[] PATTERN = new byte[BLOCK + 4099];

  static {
    long x = 0x9E3779B97F4A7C15L;
    for (int i = 0; i < PATTERN.length; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      PATTERN[i] = (byte) x;
    }
  }

  private PatternBytes() {}

  static byte at(long position) {
    return PATTERN[(int) (position % PATTERN.length)];
  }

  /** The CRC32 of the first {@code size} bytes. */
  static long crc(long size) {
    CRC32 crc = new CRC32();
    for (long position = 0; position < size; ) {
      int offset = (int) (position % PATTERN.length);
      int length = (int) Math.min(PATTERN.length - offset, size - position);
      crc.update(PATTERN, offset, length);
      position += length;
    }
    return crc.getValue();
  }

  static InputStream stream(long size) {
    return new InputStream() {
      private long position;

      @Override
      public int read() {
        return position < size ? at(position++) & 0xff : -1;
      }

      @Override
      public int read(byte[] into, int off, int len) {
        if (position >= size) return -1;
        int offset = (int) (position % PATTERN.length);
        int n = (int) Math.min(Math.min(len, PATTERN.length - offset), size - position);
        System.arraycopy(PATTERN, offset, into, off, n);
        position += n;
        return n;
      }
    };
  }

  static Source<ByteString, NotUsed> source(long size) {
    long blocks = (size + BLOCK - 1) / BLOCK;
    return Source.range(0, (int) blocks - 1).map(i -> {
      long start = (long) i * BLOCK;
      int length = (int) Math.min(BLOCK, size - start);
      byte[] block = new byte[length];
      for (int j = 0; j < length; ) {
        int offset = (int) ((start + j) % PATTERN.length);
        int n = Math.min(length - j, PATTERN.length - offset);
        System.arraycopy(PATTERN, offset, block, j, n);
        j += n;
      }
      return ByteString.fromArrayUnsafe(block);
    });
  }
}
