//! A small typed builder for the generated Yul: an indenting line writer and field arithmetic
//! expressions that are emitted as nested `addmod`/`mulmod` calls, spilled to memory temporaries
//! whenever nesting would need too many stack slots (the legacy code generator reaches only 16).

use std::fmt::Write as _;

/// An indenting writer of source lines.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: String,
    indent: usize,
}

impl Writer {
    /// A writer starting at `indent` levels.
    pub(crate) fn new(indent: usize) -> Self {
        Self { out: String::new(), indent }
    }

    /// One line at the current indentation (empty strings give blank lines).
    pub(crate) fn line(&mut self, s: impl AsRef<str>) {
        let s = s.as_ref();
        if s.is_empty() {
            self.out.push('\n');
            return;
        }
        for l in s.lines() {
            let _ = writeln!(self.out, "{:w$}{}", "", l, w = self.indent * 4);
        }
    }

    /// A `//` comment line (multi-line text gives one comment per line).
    pub(crate) fn comment(&mut self, s: impl AsRef<str>) {
        for l in s.as_ref().lines() {
            self.line(format!("// {l}"));
        }
    }

    /// `head {` and one more level of indentation.
    pub(crate) fn open(&mut self, head: impl AsRef<str>) {
        let head = head.as_ref();
        if head.is_empty() {
            self.line("{");
        } else {
            self.line(format!("{head} {{"));
        }
        self.indent += 1;
    }

    /// `}` and one level less.
    pub(crate) fn close(&mut self) {
        self.indent = self.indent.saturating_sub(1);
        self.line("}");
    }

    /// The text written so far.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// A field expression mod r. Leaves are literals, memory words and Yul variables; every operation
/// is `addmod`/`mulmod`, so leaves may be any 256-bit value (e.g. `r` itself for `-0`).
#[derive(Clone, Debug)]
pub(crate) enum E {
    /// A literal (decimal or hex).
    Lit(String),
    /// `mload(addr)`.
    Mem(usize),
    /// A Yul variable in scope.
    Var(&'static str),
    /// a + b.
    Add(Box<E>, Box<E>),
    /// a · b.
    Mul(Box<E>, Box<E>),
    /// −a (as `r − a`).
    Neg(Box<E>),
}

impl E {
    /// A memory word.
    pub(crate) fn mem(addr: usize) -> E {
        E::Mem(addr)
    }
    /// A literal.
    pub(crate) fn lit(s: impl Into<String>) -> E {
        E::Lit(s.into())
    }
    /// The constant one.
    pub(crate) fn one() -> E {
        E::Lit("1".into())
    }
}

impl E {
    fn is_lit(&self, v: &str) -> bool {
        matches!(self, E::Lit(s) if s == v)
    }
}

/// a + b (folds a literal 0).
pub(crate) fn add(a: E, b: E) -> E {
    match (a.is_lit("0"), b.is_lit("0")) {
        (true, _) => b,
        (_, true) => a,
        _ => E::Add(Box::new(a), Box::new(b)),
    }
}
/// a · b (folds a literal 1).
pub(crate) fn mul(a: E, b: E) -> E {
    match (a.is_lit("1"), b.is_lit("1")) {
        (true, _) => b,
        (_, true) => a,
        _ => E::Mul(Box::new(a), Box::new(b)),
    }
}
/// a − b.
pub(crate) fn sub(a: E, b: E) -> E {
    E::Add(Box::new(a), Box::new(E::Neg(Box::new(b))))
}
/// Σ terms (the empty sum is 0).
pub(crate) fn sum(terms: impl IntoIterator<Item = E>) -> E {
    terms.into_iter().reduce(add).unwrap_or(E::Lit("0".into()))
}
/// Π factors (the empty product is 1).
pub(crate) fn product(factors: impl IntoIterator<Item = E>) -> E {
    factors.into_iter().reduce(mul).unwrap_or(E::one())
}

/// Most stack slots one emitted expression may need before a sub-expression is spilled to memory.
const MAX_NEED: usize = 6;

/// Emits expressions, spilling deep sub-expressions into the memory temporaries at
/// `[temp_base, temp_base + 32·max_temps)`.
#[derive(Debug)]
pub(crate) struct Emitter {
    temp_base: usize,
    used: usize,
    /// The most temporaries any statement needed (sizes the temp region).
    pub(crate) max_used: usize,
}

impl Emitter {
    /// An emitter whose temporaries start at `temp_base`.
    pub(crate) fn new(temp_base: usize) -> Self {
        Self { temp_base, used: 0, max_used: 0 }
    }

    /// Frees all temporaries (call between independent statements).
    pub(crate) fn reset(&mut self) {
        self.used = 0;
    }

    /// Emits `e`; spilled parts are written to `w` first. Returns the Yul expression.
    pub(crate) fn emit(&mut self, w: &mut Writer, e: &E) -> String {
        self.go(w, e).0
    }

    fn spill(&mut self, w: &mut Writer, code: String) -> (String, usize) {
        let addr = self.temp_base + 32 * self.used;
        self.used += 1;
        self.max_used = self.max_used.max(self.used);
        w.line(format!("mstore({}, {code})", hex_addr(addr)));
        (format!("mload({})", hex_addr(addr)), 1)
    }

    /// Returns (code, stack slots needed to evaluate it). Yul evaluates call arguments right to
    /// left, so `f(a, b, R)` needs max(1, 1 + need(b), 2 + need(a)).
    fn go(&mut self, w: &mut Writer, e: &E) -> (String, usize) {
        let (code, need) = match e {
            E::Lit(s) => (s.clone(), 1),
            E::Mem(a) => (format!("mload({})", hex_addr(*a)), 1),
            E::Var(v) => ((*v).to_string(), 1),
            E::Neg(a) => {
                let (a, na) = self.go(w, a);
                (format!("sub(R, {a})"), na.max(2))
            }
            E::Add(a, b) | E::Mul(a, b) => {
                let op = if matches!(e, E::Add(..)) { "addmod" } else { "mulmod" };
                let (mut x, mut nx) = self.go(w, a);
                let (mut y, mut ny) = self.go(w, b);
                // Put the deeper operand second: it is evaluated first, with less on the stack.
                if nx > ny {
                    std::mem::swap(&mut x, &mut y);
                    std::mem::swap(&mut nx, &mut ny);
                }
                if 2 + nx > MAX_NEED {
                    (x, nx) = self.spill(w, x);
                }
                if 1 + ny > MAX_NEED {
                    (y, ny) = self.spill(w, y);
                }
                (format!("{op}({x}, {y}, R)"), (1 + ny).max(2 + nx))
            }
        };
        if need > MAX_NEED {
            return self.spill(w, code);
        }
        (code, need)
    }
}

/// A memory address as a hex literal.
pub(crate) fn hex_addr(a: usize) -> String {
    format!("{a:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_sums_spill() {
        let e = (0..40).map(|i| E::mem(0x1000 + 32 * i)).reduce(add).unwrap_or(E::one());
        let mut w = Writer::new(0);
        let mut em = Emitter::new(0x200);
        let code = em.emit(&mut w, &e);
        assert!(em.max_used > 0, "a 40-term left-deep sum must spill");
        assert!(code.starts_with("addmod("));
        assert!(w.finish().contains("mstore(0x200"));
    }

    #[test]
    fn shallow_expressions_inline() {
        let e = mul(add(E::mem(0x20), E::one()), E::Var("beta"));
        let mut w = Writer::new(0);
        let mut em = Emitter::new(0x200);
        assert_eq!(em.emit(&mut w, &e), "mulmod(beta, addmod(mload(0x20), 1, R), R)");
        assert_eq!(em.max_used, 0);
    }
}
