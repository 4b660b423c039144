package org.lmmspark.engine.simulate;

import java.util.SplittableRandom;

/**
 * The simulated samples: nuclear families first (father, mother, then 2 or 3 full sibs, so every
 * parent precedes its children), then unrelated samples. Founders (parents and unrelated samples)
 * belong to a population drawn uniformly; both parents of a family come from the same population
 * and their children inherit it. Arrays are indexed by sample in {@code .fam} order.
 *
 * <p>IDs: family {@code k} (1-based) has FID {@code famK} and members {@code famK_fa}, {@code
 * famK_mo}, {@code famK_c1}…; an unrelated sample has FID = IID = {@code indK}. Sex is 1 (male) for
 * fathers, 2 (female) for mothers, uniform otherwise.
 */
final class Cohort {
  final int n;
  final String[] fid;
  final String[] iid;
  /** Index of the father / mother, -1 for founders. */
  final int[] father;
  final int[] mother;
  final int[] sex;
  final int[] population;
  /** Family number (0-based), -1 for unrelated samples. */
  final int[] family;
  final int familyMembers;
  final int offspring;

  Cohort(SimulationConfig c) {
    this.n = c.samples();
    fid = new String[n];
    iid = new String[n];
    father = new int[n];
    mother = new int[n];
    sex = new int[n];
    population = new int[n];
    family = new int[n];
    SplittableRandom r = Rng.stream(c.seed(), Rng.SAMPLES, 0);
    int famWidth = Math.max(4, Integer.toString(c.families()).length());
    int j = 0;
    int kids = 0;
    for (int f = 0; f < c.families(); f++) {
      String name = "fam" + pad(f + 1, famWidth);
      int pop = r.nextInt(c.populations());
      int sibs = 2 + r.nextInt(2);
      int fa = j;
      int mo = j + 1;
      add(j++, name, name + "_fa", -1, -1, 1, pop, f);
      add(j++, name, name + "_mo", -1, -1, 2, pop, f);
      for (int s = 1; s <= sibs; s++) {
        add(j++, name, name + "_c" + s, fa, mo, 1 + r.nextInt(2), pop, f);
        kids++;
      }
    }
    this.familyMembers = j;
    this.offspring = kids;
    int indWidth = Math.max(5, Integer.toString(n - j).length());
    for (int u = 1; j < n; u++) {
      String name = "ind" + pad(u, indWidth);
      add(j++, name, name, -1, -1, 1 + r.nextInt(2), r.nextInt(c.populations()), -1);
    }
  }

  private void add(int j, String f, String i, int fa, int mo, int sx, int pop, int fam) {
    fid[j] = f;
    iid[j] = i;
    father[j] = fa;
    mother[j] = mo;
    sex[j] = sx;
    population[j] = pop;
    family[j] = fam;
  }

  boolean isFounder(int j) {
    return father[j] < 0;
  }

  int unrelated() {
    return n - familyMembers;
  }

  String fatherId(int j) {
    return father[j] < 0 ? "0" : iid[father[j]];
  }

  String motherId(int j) {
    return mother[j] < 0 ? "0" : iid[mother[j]];
  }

  int populationSize(int pop) {
    int count = 0;
    for (int p : population) {
      if (p == pop) {
        count++;
      }
    }
    return count;
  }

  private static String pad(int v, int width) {
    String s = Integer.toString(v);
    return "0".repeat(Math.max(0, width - s.length())) + s;
  }
}
