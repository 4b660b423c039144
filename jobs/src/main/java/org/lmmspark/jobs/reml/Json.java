package org.lmmspark.jobs.reml;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A minimal JSON writer for result files: maps, lists, strings, numbers (non-finite as null), booleans. */
public final class Json {
  private Json() {}

  public static String write(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, 0);
    return sb.append('\n').toString();
  }

  private static void write(StringBuilder sb, Object v, int indent) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof String s) {
      quote(sb, s);
    } else if (v instanceof Boolean b) {
      sb.append(b);
    } else if (v instanceof Integer || v instanceof Long) {
      sb.append(v);
    } else if (v instanceof Number num) {
      double d = num.doubleValue();
      sb.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.10g", d).replaceFirst("\\.?0+(e|$)", "$1") : "null");
    } else if (v instanceof double[] arr) {
      sb.append('[');
      for (int i = 0; i < arr.length; i++) {
        sb.append(i == 0 ? "" : ", ");
        write(sb, arr[i], indent);
      }
      sb.append(']');
    } else if (v instanceof boolean[] arr) {
      sb.append('[');
      for (int i = 0; i < arr.length; i++) {
        sb.append(i == 0 ? "" : ", ").append(arr[i]);
      }
      sb.append(']');
    } else if (v instanceof List<?> list) {
      sb.append('[');
      for (int i = 0; i < list.size(); i++) {
        sb.append(i == 0 ? "\n" : ",\n").append("  ".repeat(indent + 1));
        write(sb, list.get(i), indent + 1);
      }
      sb.append(list.isEmpty() ? "" : "\n" + "  ".repeat(indent)).append(']');
    } else if (v instanceof Map<?, ?> map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        sb.append(first ? "\n" : ",\n").append("  ".repeat(indent + 1));
        quote(sb, String.valueOf(e.getKey()));
        sb.append(": ");
        write(sb, e.getValue(), indent + 1);
        first = false;
      }
      sb.append(map.isEmpty() ? "" : "\n" + "  ".repeat(indent)).append('}');
    } else {
      throw new IllegalArgumentException("cannot write " + v.getClass() + " as JSON");
    }
  }

  private static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
        case '\r' -> sb.append("\\r");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
