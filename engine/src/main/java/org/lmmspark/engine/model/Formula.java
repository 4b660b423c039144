package org.lmmspark.engine.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.lmmspark.engine.BadInputException;

/**
 * A model formula in lme4's syntax, parsed and expanded:
 * {@code y ~ x + f + a:b + a*b + (1 + t | g) + (1 + t || g) + (1 | g1/g2) + (1 | g1:g2) + (0 + t | g)}.
 *
 * <ul>
 *   <li>Fixed part: an intercept unless {@code 0 +} or {@code - 1}; {@code a:b} an interaction,
 *       {@code a*b} = {@code a + b + a:b}; a variable is a column, {@code factor(x)} (a numeric column
 *       used as a factor), or a numeric transformation {@code log(x)}, {@code log1p(x)},
 *       {@code sqrt(x)}, {@code exp(x)}; {@code offset(x)} (or {@code offset(log(x))}) a known part of the
 *       linear predictor. Anything else ({@code I()}, {@code poly()}, {@code ^}) is refused by name.</li>
 *   <li>Response: a column, or lme4's binomial {@code cbind(successes, failures)}.</li>
 *   <li>Random part: {@code (effects | groups)} with effects {@code 1}, {@code 0} and numeric slope
 *       variables; {@code ||} splits the term into one uncorrelated term per effect (lme4's
 *       double-bar); groups {@code g}, {@code g1:g2} (the interaction factor), {@code g1/g2}
 *       (nested: {@code g1 + g1:g2}). A last group name that is a relationship matrix given on the
 *       command line ({@code (1 | id:G)}) is resolved by the model frame, not here.</li>
 * </ul>
 * Errors name the offending token and its 1-based column.
 */
public final class Formula {

  /** Transformations a variable may carry. */
  public enum Transform {
    NONE(""), FACTOR("factor"), LOG("log"), LOG1P("log1p"), SQRT("sqrt"), EXP("exp");

    final String function;

    Transform(String function) {
      this.function = function;
    }

    double apply(double v) {
      return switch (this) {
        case LOG -> Math.log(v);
        case LOG1P -> Math.log1p(v);
        case SQRT -> Math.sqrt(v);
        case EXP -> Math.exp(v);
        default -> v;
      };
    }
  }

  /** A variable of the formula: a column, possibly transformed. */
  public record Variable(String column, Transform transform, int position) {
    /** The name R prints for it ({@code Days}, {@code log(x)}, {@code factor(rack)}). */
    public String label() {
      return transform == Transform.NONE ? column : transform.function + "(" + column + ")";
    }
  }

  /**
   * One random term after expansion.
   *
   * @param intercept  whether the term has a random intercept
   * @param slopes     slope variables, in order
   * @param groups     the grouping factors whose interaction defines the levels (one for {@code g})
   * @param correlated unstructured covariance among the effects (false only for a split {@code ||} term)
   */
  public record RandomTerm(boolean intercept, List<Variable> slopes, List<String> groups, boolean correlated,
      int position) {
    /** The group name as lme4 prints it: the factors joined by {@code :}. */
    public String groupName() {
      return String.join(":", groups);
    }

    public int effects() {
      return (intercept ? 1 : 0) + slopes.size();
    }
  }

  private final String text;
  private final Variable response;
  private final Variable failures;
  private final boolean intercept;
  private final List<List<Variable>> fixedTerms;
  private final List<RandomTerm> randomTerms;
  private final List<Variable> offsets;

  private Formula(String text, Variable response, Variable failures, boolean intercept,
      List<List<Variable>> fixedTerms, List<RandomTerm> randomTerms, List<Variable> offsets) {
    this.text = text;
    this.response = response;
    this.failures = failures;
    this.intercept = intercept;
    this.fixedTerms = fixedTerms;
    this.randomTerms = randomTerms;
    this.offsets = offsets;
  }

  /**
   * The failures column of a binomial response written lme4's way, {@code cbind(successes, failures) ~ …}
   * (the successes are {@link #response()}), or null.
   */
  public Variable failures() {
    return failures;
  }

  /** Known parts of the linear predictor, {@code offset(x)} or {@code offset(log(x))}: added, not estimated. */
  public List<Variable> offsets() {
    return offsets;
  }

  public String text() {
    return text;
  }

  public Variable response() {
    return response;
  }

  public boolean intercept() {
    return intercept;
  }

  /** Fixed terms in order, each the list of variables of an interaction (one for a main effect). */
  public List<List<Variable>> fixedTerms() {
    return fixedTerms;
  }

  public List<RandomTerm> randomTerms() {
    return randomTerms;
  }

  public static Formula parse(String text) {
    return new Parser(text).formula();
  }

  // ---------------------------------------------------------------------------------------------
  private record Token(String kind, String text, int column) {}

  private static final Set<String> SUPPORTED = Set.of("factor", "as.factor", "log", "log1p", "sqrt", "exp");

  private static final class Parser {
    private final String text;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;

    Parser(String text) {
      this.text = text;
      tokenize();
    }

    private BadInputException error(Token t, String what) {
      String at = t.kind.equals("end") ? "at the end" : String.format(Locale.ROOT, "at column %d ('%s')", t.column,
          t.text);
      return new BadInputException("formula '" + text + "': " + what + " " + at);
    }

    private void tokenize() {
      int i = 0;
      while (i < text.length()) {
        char c = text.charAt(i);
        if (Character.isWhitespace(c)) {
          i++;
        } else if (c == '|' && i + 1 < text.length() && text.charAt(i + 1) == '|') {
          tokens.add(new Token("||", "||", i + 1));
          i += 2;
        } else if ("~+-*:/|()^,".indexOf(c) >= 0) {
          tokens.add(new Token(String.valueOf(c), String.valueOf(c), i + 1));
          i++;
        } else if (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '`') {
          int start = i;
          if (c == '`') {
            int close = text.indexOf('`', i + 1);
            if (close < 0) {
              throw new BadInputException("formula '" + text + "': unclosed ` at column " + (i + 1));
            }
            tokens.add(new Token("name", text.substring(i + 1, close), i + 1));
            i = close + 1;
            continue;
          }
          while (i < text.length() && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '.'
              || text.charAt(i) == '_')) {
            i++;
          }
          String word = text.substring(start, i);
          tokens.add(new Token(word.matches("[0-9.]+") ? "number" : "name", word, start + 1));
        } else {
          throw new BadInputException("formula '" + text + "': unexpected character '" + c + "' at column " + (i + 1));
        }
      }
      tokens.add(new Token("end", "", text.length() + 1));
    }

    private Token peek() {
      return tokens.get(pos);
    }

    private Token next() {
      return tokens.get(pos++);
    }

    private Token expect(String kind, String what) {
      Token t = next();
      if (!t.kind.equals(kind)) {
        throw error(t, "expected " + what);
      }
      return t;
    }

    Formula formula() {
      if (tokens.size() == 1) {
        throw new BadInputException("formula is empty: give e.g. 'y ~ x + (1 | g)'");
      }
      Variable response;
      Variable failures = null;
      if (peek().kind.equals("name") && peek().text.equals("cbind") && tokens.get(pos + 1).kind.equals("(")) {
        // lme4's binomial response: cbind(successes, failures).
        next();
        next();
        response = variable(true);
        expect(",", "',' between successes and failures in cbind(successes, failures)");
        failures = variable(true);
        expect(")", "')' closing cbind(");
      } else {
        response = variable(true);
      }
      expect("~", "'~' after the response");
      boolean intercept = true;
      Map<String, List<Variable>> fixed = new LinkedHashMap<>();
      List<RandomTerm> random = new ArrayList<>();
      List<Variable> offsets = new ArrayList<>();
      boolean first = true;
      while (true) {
        Token t = peek();
        String sign = "+";
        if (!first) {
          if (t.kind.equals("end")) {
            break;
          }
          if (!t.kind.equals("+") && !t.kind.equals("-")) {
            throw error(t, "expected '+' between terms");
          }
          sign = next().kind;
          t = peek();
        } else if (t.kind.equals("-")) {
          sign = next().kind;
          t = peek();
        }
        first = false;
        if (t.kind.equals("number")) {
          next();
          if (t.text.equals("0")) {
            if (sign.equals("-")) {
              throw error(t, "'- 0' is not meaningful");
            }
            intercept = false;
          } else if (t.text.equals("1")) {
            intercept = !sign.equals("-");
          } else {
            throw error(t, "a number in a formula must be 0 or 1");
          }
          continue;
        }
        if (sign.equals("-")) {
          throw error(t, "only '- 1' (no intercept) may be subtracted");
        }
        if (t.kind.equals("(")) {
          random.addAll(randomTerm());
          continue;
        }
        if (t.kind.equals("name") && t.text.equals("offset") && tokens.get(pos + 1).kind.equals("(")) {
          next();
          next();
          Variable v = variable(false);
          if (v.transform() == Transform.FACTOR) {
            throw error(t, "an offset must be numeric, not factor()");
          }
          expect(")", "')' closing offset(");
          offsets.add(v);
          continue;
        }
        for (List<Variable> term : product()) {
          fixed.putIfAbsent(key(term), term);
        }
      }
      return new Formula(text, response, failures, intercept, List.copyOf(fixed.values()), List.copyOf(random),
          List.copyOf(offsets));
    }

    /** Order-free key of an interaction term. */
    private static String key(List<Variable> term) {
      List<String> labels = new ArrayList<>();
      for (Variable v : term) {
        labels.add(v.label());
      }
      labels.sort(null);
      return String.join(":", labels);
    }

    /** {@code interaction ('*' interaction)*}, expanded: {@code a*b = a + b + a:b}. */
    private List<List<Variable>> product() {
      List<List<Variable>> terms = new ArrayList<>();
      terms.add(interaction());
      while (peek().kind.equals("*")) {
        next();
        List<Variable> right = interaction();
        List<List<Variable>> combined = new ArrayList<>(terms);
        combined.add(right);
        for (List<Variable> left : terms) {
          List<Variable> both = new ArrayList<>(left);
          both.addAll(right);
          combined.add(both);
        }
        terms = combined;
      }
      return terms;
    }

    private List<Variable> interaction() {
      List<Variable> vars = new ArrayList<>();
      vars.add(variable(false));
      while (peek().kind.equals(":")) {
        next();
        vars.add(variable(false));
      }
      return vars;
    }

    private Variable variable(boolean response) {
      Token t = next();
      if (t.kind.equals("^")) {
        throw error(t, "'^' is not supported (write the interactions out, or add a column)");
      }
      if (!t.kind.equals("name")) {
        throw error(t, response ? "expected the response variable" : "expected a variable");
      }
      if (peek().kind.equals("(")) {
        Token open = next();
        if (!SUPPORTED.contains(t.text)) {
          throw error(t, "function '" + t.text + "()' is not supported in formulas (supported: factor, log, log1p,"
              + " sqrt, exp; add a transformed column to the table instead)");
        }
        Token arg = next();
        if (!arg.kind.equals("name")) {
          throw error(arg, "expected a column name inside " + t.text + "()");
        }
        Token close = next();
        if (!close.kind.equals(")")) {
          throw error(close, "expected ')' closing " + t.text + "( at column " + open.column
              + " (one column per function call)");
        }
        Transform tr = switch (t.text) {
          case "factor", "as.factor" -> Transform.FACTOR;
          case "log" -> Transform.LOG;
          case "log1p" -> Transform.LOG1P;
          case "sqrt" -> Transform.SQRT;
          default -> Transform.EXP;
        };
        if (response && tr == Transform.FACTOR) {
          throw error(t, "the response must be numeric, not factor()");
        }
        if (peek().kind.equals("^")) {
          throw error(peek(), "'^' is not supported (add a column)");
        }
        return new Variable(arg.text, tr, t.column);
      }
      if (peek().kind.equals("^")) {
        throw error(peek(), "'^' is not supported (write the interactions out, or add a column)");
      }
      return new Variable(t.text, Transform.NONE, t.column);
    }

    /** {@code '(' effects ('|' | '||') groups ')'}, expanded into terms. */
    private List<RandomTerm> randomTerm() {
      Token open = expect("(", "'('");
      boolean intercept = true;
      boolean explicitIntercept = false;
      List<Variable> slopes = new ArrayList<>();
      boolean first = true;
      while (true) {
        Token t = peek();
        if (t.kind.equals("|") || t.kind.equals("||")) {
          if (first) {
            throw error(t, "expected the random effects before '" + t.kind + "'");
          }
          break;
        }
        String sign = "+";
        if (!first) {
          if (!t.kind.equals("+") && !t.kind.equals("-")) {
            throw error(t, t.kind.equals("end") ? "expected '|' and a grouping factor" : "expected '+' or '|'");
          }
          sign = next().kind;
          t = peek();
        }
        first = false;
        if (t.kind.equals("number")) {
          next();
          if (t.text.equals("0") && sign.equals("+")) {
            intercept = false;
          } else if (t.text.equals("1")) {
            intercept = !sign.equals("-");
            explicitIntercept = intercept;
          } else {
            throw error(t, "a number among random effects must be 0 or 1");
          }
          continue;
        }
        if (sign.equals("-")) {
          throw error(t, "only '- 1' may be subtracted among random effects");
        }
        Variable v = variable(false);
        if (peek().kind.equals(":") || peek().kind.equals("*")) {
          throw error(peek(), "interactions among random slopes are not supported (add a product column)");
        }
        if (v.transform == Transform.FACTOR) {
          throw error(t, "factor slopes are not supported: a random slope must be a numeric column");
        }
        slopes.add(v);
      }
      Token bar = next();
      boolean correlated = bar.kind.equals("|");
      List<List<String>> groupSets = new ArrayList<>();
      List<String> current = new ArrayList<>();
      Token g = next();
      if (!g.kind.equals("name")) {
        throw error(g, "expected a grouping factor after '" + bar.kind + "'");
      }
      current.add(g.text);
      while (peek().kind.equals(":") || peek().kind.equals("/")) {
        Token op = next();
        Token name = next();
        if (!name.kind.equals("name")) {
          throw error(name, "expected a grouping factor after '" + op.kind + "'");
        }
        if (op.kind.equals("/")) {
          groupSets.add(List.copyOf(current));
        }
        current.add(name.text);
      }
      groupSets.add(List.copyOf(current));
      Token close = next();
      if (!close.kind.equals(")")) {
        throw error(close, "expected ')' closing the random term opened at column " + open.column);
      }
      if (!intercept && slopes.isEmpty()) {
        throw error(open, "random term without any effect");
      }
      List<RandomTerm> out = new ArrayList<>();
      for (List<String> groups : groupSets) {
        if (correlated) {
          out.add(new RandomTerm(intercept, List.copyOf(slopes), groups, true, open.column));
        } else {
          if (intercept) {
            out.add(new RandomTerm(true, List.of(), groups, false, open.column));
          }
          for (Variable s : slopes) {
            out.add(new RandomTerm(false, List.of(s), groups, false, open.column));
          }
        }
      }
      return out;
    }
  }
}
