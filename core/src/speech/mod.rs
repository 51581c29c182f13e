//! Numbers in spoken English, the way a coach says them (the English grammar of
//! [`language`], as strings): paces ("four fifty-eight"), distances
//! ("three point five kilometres", "four hundred metres"), durations ("one minute thirty",
//! "forty seconds"), counts ("rep three of five"). Personas put these into their own words;
//! this module only says the numbers right.
//!
//! Rounding happens once, on whole seconds, before splitting into minutes — so 59.6 s is
//! "one minute", never "zero sixty".

use crate::units::SecondsPerKm;

mod de;
mod en;
mod es;
mod fr;
pub mod language;

pub use language::{Language, Said};

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] =
    ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// Words the functions here say besides the numbers of [`ONES`] and [`TENS`].
const UNIT_WORDS: [&str; 19] = [
    "hundred",
    "thousand",
    "and",
    "oh",
    "flat",
    "point",
    "to",
    "kilometre",
    "kilometres",
    "metres",
    "minute",
    "minutes",
    "second",
    "seconds",
    "hour",
    "hours",
    "mile",
    "miles",
    "per",
];

/// Every word the functions here can say (compound numbers like "fifty-eight" are "fifty" and
/// "eight"): a voice pack records each of these once.
pub fn vocabulary() -> impl Iterator<Item = &'static str> {
    ONES.iter().chain(&TENS[2..]).chain(&UNIT_WORDS).chain(&IMPERIAL_VOCABULARY).copied()
}

/// Words the imperial forms add.
const IMPERIAL_VOCABULARY: [&str; 6] = ["a", "quarter", "quarters", "half", "of", "zero"];

/// A whole number in words ("one hundred and twelve"); numbers of a million or more are
/// read digit by digit, which no running figure needs.
pub fn number(n: u64) -> String {
    Language::En.number(n).to_string()
}

/// Minutes and seconds as a runner reads a pace: "four fifty-eight", "five oh five",
/// "six flat"; hours for very slow paces are not a thing, so minutes may exceed 59.
pub fn pace(pace: SecondsPerKm) -> String {
    Language::En.pace(pace).to_string()
}

/// A duration: "one hour five minutes", "twelve minutes", "one minute thirty", "forty seconds".
pub fn duration(seconds: f64) -> String {
    Language::En.duration(seconds).to_string()
}

/// A distance: metres below a kilometre (to the nearest 10, or 50 above 500 m, as people say
/// them), then kilometres to one decimal ("three point five kilometres", "ten kilometres").
pub fn distance(metres: f64) -> String {
    Language::En.distance(metres).to_string()
}

/// Metres in a mile.
pub const METRES_PER_MILE: f64 = 1609.344;

/// Which units the runner hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Units {
    #[default]
    Metric,
    Imperial,
}

/// A pace with its unit: "four fifty per kilometre", "eight thirty per mile".
pub fn pace_in(pace_per_km: SecondsPerKm, units: Units) -> String {
    Language::En.pace_in(pace_per_km, units).to_string()
}

/// A distance in the runner's units: metric as [`distance`]; imperial in miles to a tenth,
/// with the halves and quarters people say ("half a mile", "three point one miles").
pub fn distance_in(metres: f64, units: Units) -> String {
    Language::En.distance_in(metres, units).to_string()
}

/// "one", "two"… for ordinal-free counts like kilometre numbers.
pub fn count(n: u32) -> String {
    number(u64::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_spoken_word_is_in_the_vocabulary() {
        let texts = [
            number(21_097),
            pace(SecondsPerKm(305.0)),
            pace(SecondsPerKm(360.0)),
            duration(3930.0),
            duration(1.0),
            distance(3500.0),
            distance(1000.0),
            distance(450.0),
        ];
        for text in texts {
            for word in text.split([' ', '-']).filter(|w| !w.is_empty()) {
                assert!(vocabulary().any(|w| w == word), "{word:?} of {text:?}");
            }
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number(0), "zero");
        assert_eq!(number(15), "fifteen");
        assert_eq!(number(58), "fifty-eight");
        assert_eq!(number(112), "one hundred and twelve");
        assert_eq!(number(2005), "two thousand and five");
        assert_eq!(number(21_097), "twenty-one thousand and ninety-seven");
    }

    #[test]
    fn paces() {
        assert_eq!(pace(SecondsPerKm(298.0)), "four fifty-eight");
        assert_eq!(pace(SecondsPerKm(305.0)), "five oh five");
        assert_eq!(pace(SecondsPerKm(359.6)), "six flat");
        assert_eq!(pace(SecondsPerKm(510.0)), "eight thirty");
    }

    #[test]
    fn durations_round_before_splitting() {
        assert_eq!(duration(59.6), "one minute");
        assert_eq!(duration(40.0), "forty seconds");
        assert_eq!(duration(1.0), "one second");
        assert_eq!(duration(0.0), "zero seconds");
        assert_eq!(duration(90.0), "one minute thirty");
        assert_eq!(duration(3900.0), "one hour five minutes");
        assert_eq!(duration(7200.0), "two hours");
    }

    #[test]
    fn distances() {
        assert_eq!(distance(400.0), "four hundred metres");
        assert_eq!(distance(3500.0), "three point five kilometres");
        assert_eq!(distance(1000.0), "one kilometre");
        assert_eq!(distance(999.7), "one kilometre");
        assert_eq!(distance(975.0), "one kilometre");
        assert_eq!(distance(10_020.0), "ten kilometres");
        assert_eq!(distance(42_195.0), "forty-two point two kilometres");
    }

    #[test]
    fn imperial_and_metric_paces_and_distances() {
        assert_eq!(pace_in(SecondsPerKm(290.0), Units::Metric), "four fifty per kilometre");
        // 5:17/km is 8:30/mile.
        assert_eq!(pace_in(SecondsPerKm(316.9), Units::Imperial), "eight thirty per mile");
        assert_eq!(distance_in(5000.0, Units::Imperial), "three point one miles");
        assert_eq!(distance_in(1609.344, Units::Imperial), "one mile");
        assert_eq!(distance_in(804.7, Units::Imperial), "half a mile");
        assert_eq!(distance_in(402.3, Units::Imperial), "a quarter of a mile");
        assert_eq!(distance_in(16_093.44, Units::Imperial), "ten miles");
        assert_eq!(distance_in(300.0, Units::Imperial), "point two miles");
        assert_eq!(distance_in(10.0, Units::Imperial), "zero miles");
    }

    proptest! {
        #[test]
        fn imperial_words_are_words_only(metres in 0.0f64..100_000.0, pace_s in 120.0f64..1200.0) {
            let pace_text = pace_in(SecondsPerKm(pace_s), Units::Imperial);
            // Seconds never reach sixty once rounded.
            prop_assert!(!pace_text.contains("sixty"), "{}", pace_text);
            for text in [distance_in(metres, Units::Imperial), pace_text] {
                prop_assert!(!text.chars().any(|c| c.is_ascii_digit()), "{}", text);
                for word in text.split([' ', '-']).filter(|w| !w.is_empty()) {
                    prop_assert!(vocabulary().any(|w| w == word), "{} in {}", word, text);
                }
            }
        }

        #[test]
        fn spoken_numbers_are_words_only(seconds in 0.0f64..20_000.0, metres in 0.0f64..300_000.0) {
            for text in [duration(seconds), distance(metres), pace(SecondsPerKm(seconds.min(3599.0)))] {
                prop_assert!(!text.chars().any(|c| c.is_ascii_digit()), "{}", text);
            }
            // Seconds and minutes never reach sixty once rounded.
            for text in [duration(seconds), pace(SecondsPerKm(seconds.min(3599.0)))] {
                prop_assert!(!text.contains("sixty"), "{} for {}", text, seconds);
            }
        }
    }
}
