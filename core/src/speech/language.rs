//! Numbers as a coach says them in each language the personas speak (en, de, es, fr): the
//! rounding (shared: a pace is rounded to whole seconds once, before it is split) and each
//! language's grammar (its own: German compounds, French *soixante-dix* and *vingt et une
//! minutes*, Spanish *veintiún kilómetros*), as words a voice pack holds one clip each of.
//!
//! A figure is said as [`Said`]: vocabulary words and how each joins the next (a space, a
//! hyphen, or nothing inside a German compound), so the caption reads "fünfundzwanzig" while
//! the pack stitches "fünf" "und" "zwanzig".
//!
//! Must not: choose what a persona says around the figure (scripts do), or know a unit system
//! beyond metric and imperial.

use super::{METRES_PER_MILE, Units};
use crate::units::SecondsPerKm;

/// A language the personas speak.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    De,
    Es,
    Fr,
}

impl Language {
    pub const ALL: [Language; 4] = [Language::En, Language::De, Language::Es, Language::Fr];

    /// The ISO 639-1 code, as packs and persona scripts name their language.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
            Language::Es => "es",
            Language::Fr => "fr",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(code))
    }

    fn grammar(self) -> &'static dyn Grammar {
        match self {
            Language::En => &super::en::English,
            Language::De => &super::de::German,
            Language::Es => &super::es::Spanish,
            Language::Fr => &super::fr::French,
        }
    }

    /// Every word the figures of this language can say, ordinals aside: a voice pack
    /// records each once.
    pub fn vocabulary(self) -> Vec<&'static str> {
        let mut words = self.grammar().vocabulary();
        words.sort_unstable();
        words.dedup();
        words
    }

    /// The words ordinals add (a pack holds them once a persona's line says an ordinal).
    pub fn ordinal_vocabulary(self) -> Vec<&'static str> {
        let mut words = self.grammar().ordinal_words();
        words.sort_unstable();
        words.dedup();
        words
    }

    /// A whole number on its own ("twenty-one", "einundzwanzig", "veintiuno", "vingt et un").
    pub fn number(self, n: u64) -> Said {
        self.grammar().cardinal(n, Form::Alone)
    }

    /// An ordinal ("third", "dritte", "tercero", "troisième"); beyond 99 the number itself.
    pub fn ordinal(self, n: u64) -> Said {
        if n == 0 || n > MAX_ORDINAL { self.number(n) } else { self.grammar().ordinal(n) }
    }

    /// A pace per kilometre as minutes and seconds, without its unit.
    pub fn pace(self, pace: SecondsPerKm) -> Said {
        let total = pace.0.max(0.0).round() as u64;
        self.grammar().pace(total / 60, total % 60)
    }

    /// A pace with its unit, in the runner's units.
    pub fn pace_in(self, pace_per_km: SecondsPerKm, units: Units) -> Said {
        let (pace, unit) = match units {
            Units::Metric => (pace_per_km, Unit::Kilometre),
            Units::Imperial => (SecondsPerKm(pace_per_km.0 * METRES_PER_MILE / 1000.0), Unit::Mile),
        };
        self.pace(pace).then(self.grammar().per(unit))
    }

    /// A duration rounded to whole seconds: hours and minutes, minutes and seconds, or seconds.
    pub fn duration(self, seconds: f64) -> Said {
        let total = seconds.max(0.0).round() as u64;
        let (hours, minutes, secs) = (total / 3600, (total / 60) % 60, total % 60);
        let g = self.grammar();
        match (hours, minutes, secs) {
            (0, 0, s) => g.count_of(s, Unit::Second),
            (0, m, 0) => g.count_of(m, Unit::Minute),
            (0, m, s) => g.count_of(m, Unit::Minute).then(g.seconds_after_minutes(s)),
            (h, 0, _) => g.count_of(h, Unit::Hour),
            (h, m, _) => g.count_of(h, Unit::Hour).then(g.count_of(m, Unit::Minute)),
        }
    }

    /// A distance: metres below a kilometre (to the nearest 10, or 50 above 500 m), then
    /// kilometres to a tenth.
    pub fn distance(self, metres: f64) -> Said {
        let metres = metres.max(0.0);
        let g = self.grammar();
        if metres.round() < 1000.0 {
            let step = if metres > 500.0 { 50.0 } else { 10.0 };
            let rounded = ((metres / step).round() * step) as u64;
            if rounded < 1000 {
                return g.count_of(rounded, Unit::Metre);
            }
        }
        let tenths = (metres / 100.0).round().max(10.0) as u64;
        g.decimal_of(tenths / 10, tenths % 10, Unit::Kilometre)
    }

    /// A distance in the runner's units: imperial in miles to a tenth, with the halves and
    /// quarters people say.
    pub fn distance_in(self, metres: f64, units: Units) -> Said {
        if units == Units::Metric {
            return self.distance(metres);
        }
        let miles = metres.max(0.0) / METRES_PER_MILE;
        let tenths = (miles * 10.0).round() as u64;
        let quarters = (miles * 4.0).round() as u64;
        let near_quarter = (miles * 4.0 - quarters as f64).abs() < 0.1;
        let g = self.grammar();
        match (tenths, quarters) {
            (0, _) => g.count_of(0, Unit::Mile),
            (_, 1..=3) if near_quarter => g.quarters_of_a_mile(quarters),
            (t, _) => g.decimal_of(t / 10, t % 10, Unit::Mile),
        }
    }
}

/// Ordinals are said up to this (reps and kilometre numbers); beyond, the number.
pub const MAX_ORDINAL: u64 = 99;

/// How a word joins the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    Space,
    Hyphen,
    /// Inside one written word (German compounds).
    Closed,
    /// A comma and a space (the parts of a step: "work, rep two of five, one kilometre").
    Comma,
}

/// A figure as vocabulary words, with how each joins the one after it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Said {
    pub words: Vec<(&'static str, Join)>,
}

impl Said {
    pub fn word(word: &'static str) -> Said {
        Said { words: vec![(word, Join::Space)] }
    }

    /// Words separated by spaces.
    pub fn spaced(words: &[&'static str]) -> Said {
        Said { words: words.iter().map(|w| (*w, Join::Space)).collect() }
    }

    /// This, then `next` after a space.
    pub fn then(mut self, next: Said) -> Said {
        self.words.extend(next.words);
        self
    }

    /// This, then `next` joined by `join` (the last word of this one takes it).
    pub fn joined(mut self, join: Join, next: Said) -> Said {
        if let Some(last) = self.words.last_mut() {
            last.1 = join;
        }
        self.words.extend(next.words);
        self
    }

    /// This, then what `rest` says of `n` unless `n` is 0.
    pub(super) fn then_unless_zero(self, n: u64, rest: impl FnOnce(u64) -> Said) -> Said {
        if n == 0 { self } else { self.then(rest(n)) }
    }

    /// The last word replaced (a number's ending before a noun, an ordinal's suffix).
    pub fn with_last(mut self, word: &'static str) -> Said {
        if let Some(last) = self.words.last_mut() {
            last.0 = word;
        }
        self
    }

    pub fn last(&self) -> Option<&'static str> {
        self.words.last().map(|(w, _)| *w)
    }

    /// The words to stitch, in order.
    pub fn pack_words(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.words.iter().map(|(w, _)| *w)
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last = self.words.len().saturating_sub(1);
        for (i, (word, join)) in self.words.iter().enumerate() {
            f.write_str(word)?;
            if i < last {
                f.write_str(match join {
                    Join::Space => " ",
                    Join::Hyphen => "-",
                    Join::Closed => "",
                    Join::Comma => ", ",
                })?;
            }
        }
        Ok(())
    }
}

/// What a number counts, for its agreement (gender, plural) in each language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Second,
    Minute,
    Hour,
    Metre,
    Kilometre,
    Mile,
}

/// The form a cardinal takes: alone, or before a noun of a gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Alone,
    Masculine,
    Feminine,
}

/// One language's way of saying figures.
pub(super) trait Grammar: Sync {
    /// Every word the methods below can say, [`Grammar::ordinal`] aside.
    fn vocabulary(&self) -> Vec<&'static str>;
    /// The words [`Grammar::ordinal`] adds.
    fn ordinal_words(&self) -> Vec<&'static str>;
    fn cardinal(&self, n: u64, form: Form) -> Said;
    /// 1..=[`MAX_ORDINAL`].
    fn ordinal(&self, n: u64) -> Said;
    /// `n` of a unit, agreeing ("one minute", "eine Minute", "veintiún kilómetros").
    fn count_of(&self, n: u64, unit: Unit) -> Said;
    /// `whole`.`tenth` of a unit (`tenth` 0: the whole number alone).
    fn decimal_of(&self, whole: u64, tenth: u64, unit: Unit) -> Said;
    /// A quarter, a half or three quarters of a mile (`quarters` 1–3).
    fn quarters_of_a_mile(&self, quarters: u64) -> Said;
    /// Minutes and seconds of a pace: "fünf Minuten dreißig", "cinq minutes trente et une".
    fn pace(&self, minutes: u64, seconds: u64) -> Said {
        self.count_of(minutes, Unit::Minute).then_unless_zero(seconds, |s| self.seconds_after_minutes(s))
    }
    /// "per kilometre".
    fn per(&self, unit: Unit) -> Said;
    /// The seconds after "N minutes" in a duration ("one minute thirty").
    fn seconds_after_minutes(&self, seconds: u64) -> Said {
        self.cardinal(seconds, Form::Alone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn say(lang: Language, said: Said) -> String {
        let vocabulary = [lang.vocabulary(), lang.ordinal_vocabulary()].concat();
        for word in said.pack_words() {
            assert!(
                vocabulary.contains(&word),
                "{}: {word:?} of {said} is not in the vocabulary",
                lang.code()
            );
        }
        said.to_string()
    }

    #[test]
    fn german() {
        let de = Language::De;
        let n = |n| say(de, de.number(n));
        assert_eq!(n(0), "null");
        assert_eq!(n(1), "eins");
        assert_eq!(n(17), "siebzehn");
        assert_eq!(n(21), "einundzwanzig");
        assert_eq!(n(58), "achtundfünfzig");
        assert_eq!(n(100), "hundert");
        assert_eq!(n(101), "hunderteins");
        assert_eq!(n(137), "hundertsiebenunddreißig");
        assert_eq!(n(1500), "tausendfünfhundert");
        assert_eq!(n(101_000), "hunderteintausend");
        assert_eq!(n(250), "zweihundertfünfzig");
        assert_eq!(n(2005), "zweitausendfünf");
        assert_eq!(n(21_097), "einundzwanzigtausendsiebenundneunzig");
        assert_eq!(say(de, de.pace(SecondsPerKm(330.0))), "fünf Minuten dreißig");
        assert_eq!(
            say(de, de.pace_in(SecondsPerKm(330.0), Units::Metric)),
            "fünf Minuten dreißig pro Kilometer"
        );
        assert_eq!(say(de, de.pace(SecondsPerKm(360.0))), "sechs Minuten");
        assert_eq!(say(de, de.pace(SecondsPerKm(61.0))), "eine Minute eins");
        assert_eq!(say(de, de.duration(3900.0)), "eine Stunde fünf Minuten");
        assert_eq!(say(de, de.duration(90.0)), "eine Minute dreißig");
        assert_eq!(say(de, de.duration(1.0)), "eine Sekunde");
        assert_eq!(say(de, de.duration(40.0)), "vierzig Sekunden");
        assert_eq!(say(de, de.distance(400.0)), "vierhundert Meter");
        assert_eq!(say(de, de.distance(1000.0)), "ein Kilometer");
        assert_eq!(say(de, de.distance(3500.0)), "drei Komma fünf Kilometer");
        assert_eq!(say(de, de.distance(21_100.0)), "einundzwanzig Komma eins Kilometer");
        assert_eq!(say(de, de.distance_in(1609.344, Units::Imperial)), "eine Meile");
        assert_eq!(say(de, de.distance_in(804.7, Units::Imperial)), "eine halbe Meile");
        assert_eq!(say(de, de.distance_in(5000.0, Units::Imperial)), "drei Komma eins Meilen");
        assert_eq!(say(de, de.ordinal(1)), "erste");
        assert_eq!(say(de, de.ordinal(3)), "dritte");
        assert_eq!(say(de, de.ordinal(7)), "siebte");
        assert_eq!(say(de, de.ordinal(21)), "einundzwanzigste");
    }

    #[test]
    fn spanish() {
        let es = Language::Es;
        let n = |n| say(es, es.number(n));
        assert_eq!(n(1), "uno");
        assert_eq!(n(16), "dieciséis");
        assert_eq!(n(21), "veintiuno");
        assert_eq!(n(35), "treinta y cinco");
        assert_eq!(n(100), "cien");
        assert_eq!(n(101), "ciento uno");
        assert_eq!(n(500), "quinientos");
        assert_eq!(n(21_097), "veintiún mil noventa y siete");
        assert_eq!(
            say(es, es.pace_in(SecondsPerKm(330.0), Units::Metric)),
            "cinco minutos treinta por kilómetro"
        );
        assert_eq!(say(es, es.pace(SecondsPerKm(61.0))), "un minuto uno");
        assert_eq!(say(es, es.duration(3900.0)), "una hora cinco minutos");
        assert_eq!(say(es, es.duration(1860.0)), "treinta y un minutos");
        assert_eq!(say(es, es.distance(21_000.0)), "veintiún kilómetros");
        assert_eq!(say(es, es.distance(1000.0)), "un kilómetro");
        assert_eq!(say(es, es.distance(3500.0)), "tres coma cinco kilómetros");
        assert_eq!(say(es, es.distance(400.0)), "cuatrocientos metros");
        assert_eq!(say(es, es.distance_in(804.7, Units::Imperial)), "media milla");
        assert_eq!(say(es, es.distance_in(1609.344, Units::Imperial)), "una milla");
        assert_eq!(
            say(es, es.pace_in(SecondsPerKm(316.9), Units::Imperial)),
            "ocho minutos treinta por milla"
        );
        assert_eq!(say(es, es.ordinal(3)), "tercero");
        assert_eq!(say(es, es.ordinal(13)), "decimotercero");
        assert_eq!(say(es, es.ordinal(21)), "vigésimo primero");
    }

    #[test]
    fn french() {
        let fr = Language::Fr;
        let n = |n| say(fr, fr.number(n));
        assert_eq!(n(1), "un");
        assert_eq!(n(17), "dix-sept");
        assert_eq!(n(21), "vingt et un");
        assert_eq!(n(71), "soixante et onze");
        assert_eq!(n(77), "soixante-dix-sept");
        assert_eq!(n(80), "quatre-vingts");
        assert_eq!(n(81), "quatre-vingt-un");
        assert_eq!(n(99), "quatre-vingt-dix-neuf");
        assert_eq!(n(200), "deux cents");
        assert_eq!(n(250), "deux cent cinquante");
        assert_eq!(n(21_097), "vingt et un mille quatre-vingt-dix-sept");
        assert_eq!(
            say(fr, fr.pace_in(SecondsPerKm(330.0), Units::Metric)),
            "cinq minutes trente au kilomètre"
        );
        assert_eq!(say(fr, fr.pace(SecondsPerKm(331.0))), "cinq minutes trente et une");
        assert_eq!(say(fr, fr.duration(1260.0)), "vingt et une minutes");
        assert_eq!(say(fr, fr.duration(3900.0)), "une heure cinq minutes");
        assert_eq!(say(fr, fr.duration(0.0)), "zéro seconde");
        assert_eq!(say(fr, fr.distance(1000.0)), "un kilomètre");
        assert_eq!(say(fr, fr.distance(1500.0)), "un virgule cinq kilomètre");
        assert_eq!(say(fr, fr.distance(3500.0)), "trois virgule cinq kilomètres");
        assert_eq!(say(fr, fr.distance(400.0)), "quatre cents mètres");
        assert_eq!(say(fr, fr.distance_in(804.7, Units::Imperial)), "un demi-mile");
        assert_eq!(say(fr, fr.ordinal(1)), "premier");
        assert_eq!(say(fr, fr.ordinal(5)), "cinquième");
        assert_eq!(say(fr, fr.ordinal(21)), "vingt et unième");
        assert_eq!(say(fr, fr.ordinal(80)), "quatre-vingtième");
    }

    #[test]
    fn english_ordinals() {
        let en = Language::En;
        assert_eq!(say(en, en.ordinal(1)), "first");
        assert_eq!(say(en, en.ordinal(12)), "twelfth");
        assert_eq!(say(en, en.ordinal(21)), "twenty-first");
        assert_eq!(say(en, en.ordinal(40)), "fortieth");
    }

    #[test]
    fn english_figures_are_the_english_packs_vocabulary() {
        let mut legacy: Vec<&str> = super::super::vocabulary().collect();
        legacy.sort_unstable();
        legacy.dedup();
        assert_eq!(Language::En.vocabulary(), legacy);
    }

    #[test]
    fn no_two_numbers_sound_the_same_and_none_is_said_with_a_digit() {
        for lang in Language::ALL {
            let mut heard = std::collections::HashMap::new();
            for n in (0..=20_000).chain([999_999, 1_000_000]) {
                let text = lang.number(n).to_string();
                assert!(!text.chars().any(|c| c.is_ascii_digit()), "{}: {text}", lang.code());
                if let Some(m) = heard.insert(text.clone(), n) {
                    panic!("{}: {m} and {n} are both {text:?}", lang.code());
                }
            }
        }
    }

    proptest! {
        /// Every figure in every language is words of its vocabulary, no digits, never
        /// "sixty seconds"; different numbers never sound the same.
        #[test]
        fn figures_are_vocabulary_words(
            n in 0u64..1_000_000,
            m in 0u64..1_000_000,
            seconds in 0.0f64..20_000.0,
            metres in 0.0f64..300_000.0,
            imperial in proptest::bool::ANY,
        ) {
            let units = if imperial { Units::Imperial } else { Units::Metric };
            for lang in Language::ALL {
                let texts = [
                    lang.number(n),
                    lang.ordinal(n % 120),
                    lang.duration(seconds),
                    lang.distance_in(metres, units),
                    lang.pace_in(SecondsPerKm(seconds.min(3599.0)), units),
                ];
                let vocabulary = [lang.vocabulary(), lang.ordinal_vocabulary()].concat();
                for said in texts {
                    let text = said.to_string();
                    prop_assert!(!text.chars().any(|c| c.is_ascii_digit()), "{}", text);
                    prop_assert!(!text.is_empty());
                    for word in said.pack_words() {
                        prop_assert!(vocabulary.contains(&word), "{}: {} of {}", lang.code(), word, text);
                    }
                }
                if n != m {
                    prop_assert_ne!(lang.number(n).to_string(), lang.number(m).to_string());
                }
            }
        }
    }
}
