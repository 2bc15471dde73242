//! WoW-style character names built from per-race syllable tables: a start, zero to two
//! middle syllables and a gendered ending, then kept only when pronounceable (vowel and
//! consonant runs bounded, no letter three times in a row) and within the game's rules
//! (2–12 letters, letters only, capitalised). A seeded generator makes answers reproducible.

use std::collections::HashSet;

/// SplitMix64: tiny, fast, and the same sequence on every platform and release.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

struct Style {
    race: &'static str,
    starts: &'static [&'static str],
    middles: &'static [&'static str],
    male_ends: &'static [&'static str],
    female_ends: &'static [&'static str],
    /// Chance in percent of a first and of a second middle syllable.
    middle_odds: (usize, usize),
}

const STYLES: [Style; 12] = [
    Style {
        race: "human",
        starts: &[
            "Al", "Bran", "Ced", "Dar", "Ed", "Gar", "Hal", "Jor", "Kel", "Mar", "Rol", "Ster",
            "Tor", "Wil", "Ly", "Ro", "Ev", "Gwen", "Is", "Ben",
        ],
        middles: &[
            "a", "e", "i", "o", "an", "el", "in", "ar", "or", "ri", "la", "wy",
        ],
        male_ends: &[
            "ric", "wyn", "ton", "dan", "mund", "ard", "ven", "ath", "ford", "ias", "rik",
        ],
        female_ends: &[
            "a", "ia", "elle", "wyn", "ine", "ara", "eth", "ora", "issa", "anne",
        ],
        middle_odds: (45, 10),
    },
    Style {
        race: "dwarf",
        starts: &[
            "Brom", "Dur", "Thor", "Gim", "Kar", "Mur", "Bal", "Grim", "Dun", "Bor", "Har", "Mag",
            "Thu", "Ul", "Bru", "Fal",
        ],
        middles: &["a", "i", "o", "u", "ra", "ri", "dra", "gri", "bo", "li"],
        male_ends: &[
            "in", "ar", "ok", "rim", "dun", "grim", "bek", "nar", "ruk", "dan", "gar",
        ],
        female_ends: &["a", "ra", "da", "hild", "wyn", "ria", "ga", "dis", "ka"],
        middle_odds: (35, 5),
    },
    Style {
        race: "night_elf",
        starts: &[
            "Ael", "Ela", "Fan", "Ily", "Mal", "Shan", "Syl", "Tyr", "Ler", "Nal", "Ara", "Ty",
            "Ely", "Ith", "Qual", "Fen",
        ],
        middles: &[
            "a", "e", "ia", "ra", "la", "na", "dra", "the", "ri", "lo", "van",
        ],
        male_ends: &[
            "ion", "oth", "ar", "as", "iel", "orn", "ros", "dris", "lan", "dor",
        ],
        female_ends: &[
            "a", "ia", "ara", "wyn", "ris", "lis", "ssa", "lea", "ande", "dra",
        ],
        middle_odds: (60, 20),
    },
    Style {
        race: "gnome",
        starts: &[
            "Fiz", "Giz", "Tink", "Mek", "Nim", "Bim", "Pip", "Wiz", "Cog", "Spark", "Fen", "Zip",
            "Bix", "Nob", "Tib",
        ],
        middles: &["a", "e", "i", "o", "le", "bo", "ri", "ka", "zi"],
        male_ends: &[
            "wick", "bolt", "gear", "nob", "fizz", "kin", "tock", "bit", "sprock",
        ],
        female_ends: &["ette", "bell", "sy", "li", "pip", "wix", "na", "ly", "ina"],
        middle_odds: (35, 5),
    },
    Style {
        race: "draenei",
        starts: &[
            "Ara", "Ve", "Nob", "Mal", "Ish", "Kor", "Vel", "Dra", "Ha", "Ez", "Ire", "Ma", "Ko",
            "Yre", "Oss",
        ],
        middles: &["a", "e", "u", "ra", "ru", "ka", "ne", "lu", "mo"],
        male_ends: &[
            "ar", "uun", "aan", "orr", "eer", "eth", "on", "ius", "mon", "dar",
        ],
        female_ends: &[
            "ee", "aa", "ra", "na", "ria", "ell", "ae", "ira", "elle", "ssa",
        ],
        middle_odds: (55, 15),
    },
    Style {
        race: "worgen",
        starts: &[
            "Gen", "Dar", "Lor", "Hal", "Ast", "Cre", "Vel", "Mor", "Ben", "Wil", "Kri", "Gil",
            "Lor", "Tob",
        ],
        middles: &["a", "e", "o", "en", "ar", "in", "wy", "ri"],
        male_ends: &[
            "ric", "ton", "mane", "fang", "wood", "rick", "ard", "lan", "ley",
        ],
        female_ends: &["a", "ine", "ra", "yn", "ia", "ette", "lyn", "anne"],
        middle_odds: (40, 5),
    },
    Style {
        race: "orc",
        starts: &[
            "Gar", "Thr", "Grom", "Dur", "Kar", "Mog", "Naz", "Rok", "Zug", "Gor", "Kro", "Brok",
            "Ug", "Dra", "Gul",
        ],
        middles: &["a", "o", "u", "ra", "ga", "ro", "zu", "ka", "ma", "gro"],
        male_ends: &[
            "ok", "ash", "gar", "ruk", "dak", "rim", "thar", "gor", "nak", "zog", "mash",
        ],
        female_ends: &["a", "ga", "ka", "ra", "sha", "gra", "tha", "za", "ula"],
        middle_odds: (40, 5),
    },
    Style {
        race: "undead",
        starts: &[
            "Mor", "Sar", "Vex", "Nath", "Kel", "Mal", "Ghul", "Vor", "Xar", "Ser", "Dre", "Syl",
            "Cal", "Ven",
        ],
        middles: &["a", "e", "o", "ra", "ne", "cro", "the", "va", "lis"],
        male_ends: &[
            "ius", "mor", "ath", "rek", "us", "ix", "gore", "vek", "dred", "ric",
        ],
        female_ends: &["a", "ine", "ys", "ia", "issa", "ena", "yra", "eth", "ora"],
        middle_odds: (45, 10),
    },
    Style {
        race: "tauren",
        starts: &[
            "Cai", "Mul", "Hama", "Tah", "Bai", "Kor", "Ata", "Hau", "Mak", "Nah", "Tao", "Una",
            "Shea", "Tak", "Ano",
        ],
        middles: &["a", "o", "u", "wa", "ha", "ma", "ko", "la", "ne"],
        male_ends: &[
            "hoof", "horn", "ka", "ne", "ron", "tah", "tuk", "ra", "hawk", "mah",
        ],
        female_ends: &["a", "ka", "ta", "wa", "hi", "ya", "na", "ki", "la"],
        middle_odds: (50, 10),
    },
    Style {
        race: "troll",
        starts: &[
            "Zul", "Vol", "Jin", "Zal", "Rok", "Sen", "Tal", "Zen", "Ja", "Ha", "Ka", "Van", "Mo",
            "Ro",
        ],
        middles: &["a", "e", "i", "ja", "ka", "ra", "za", "zi", "ju", "lo"],
        male_ends: &[
            "jin", "ka", "zar", "jan", "tik", "zul", "rak", "ji", "gash", "jo",
        ],
        female_ends: &["a", "ra", "ja", "zi", "ka", "la", "sha", "ni", "zia"],
        middle_odds: (45, 10),
    },
    Style {
        race: "blood_elf",
        starts: &[
            "Kael", "Lor", "Aly", "Sil", "Val", "Rom", "Thal", "Qua", "Sael", "Lir", "Ana", "Vel",
            "Ely", "Hal", "Fael",
        ],
        middles: &["a", "e", "i", "ra", "tha", "le", "ae", "ri", "na", "dor"],
        male_ends: &[
            "as", "ath", "ion", "ian", "oth", "oran", "ius", "ael", "ar", "os",
        ],
        female_ends: &[
            "a", "ia", "ara", "elle", "is", "ys", "anna", "iel", "ena", "ssa",
        ],
        middle_odds: (60, 20),
    },
    Style {
        race: "goblin",
        starts: &[
            "Griz", "Kez", "Gaz", "Noz", "Riz", "Zaz", "Bilg", "Krix", "Mix", "Sniv", "Fiz",
            "Trix", "Pog", "Gal", "Nix",
        ],
        middles: &["a", "i", "o", "le", "zi", "ka", "bo", "ga"],
        male_ends: &[
            "lo", "ik", "nik", "wrench", "wick", "zle", "gle", "bolt", "tok", "zik",
        ],
        female_ends: &["ette", "le", "zy", "la", "lix", "ra", "ina", "zie", "bit"],
        middle_odds: (35, 5),
    },
];

pub const MIN_LEN: usize = 2;
pub const MAX_LEN: usize = 12;

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// Letters only, 2–12 of them, at least one vowel, no letter three times in a row, at most
/// three consonants or two vowels running (`ee`, `aa`, `ae` allowed; `aea` not).
pub fn pronounceable(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    if !(MIN_LEN..=MAX_LEN).contains(&chars.len())
        || !chars.iter().all(char::is_ascii_lowercase)
        || !chars.iter().any(|c| is_vowel(*c))
    {
        return false;
    }
    let (mut vowels, mut consonants) = (0, 0);
    for (i, c) in chars.iter().enumerate() {
        if is_vowel(*c) {
            vowels += 1;
            consonants = 0;
        } else {
            consonants += 1;
            vowels = 0;
        }
        if vowels > 2 || consonants > 3 {
            return false;
        }
        if i >= 2 && chars[i - 1] == *c && chars[i - 2] == *c {
            return false;
        }
    }
    // A name should not open with a doubled letter ("Llor").
    !(chars.len() >= 2 && chars[0] == chars[1])
}

fn capitalise(lower: &str) -> String {
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Joins two parts, dropping one letter where the seam would double a consonant or run
/// three vowels together.
fn join(left: &str, right: &str) -> String {
    let (Some(l), Some(r)) = (left.chars().last(), right.chars().next()) else {
        return format!("{left}{right}");
    };
    if l == r && !is_vowel(l) {
        return format!("{left}{}", &right[1..]);
    }
    format!("{left}{right}")
}

fn style_for(race: &str) -> Option<&'static Style> {
    STYLES.iter().find(|s| s.race == race)
}

/// One candidate (may fail the checks; the caller retries).
fn candidate(style: &Style, gender: Gender, rng: &mut Rng) -> String {
    let mut name = rng.pick(style.starts).to_ascii_lowercase();
    if rng.below(100) < style.middle_odds.0 {
        name = join(&name, rng.pick(style.middles));
        if rng.below(100) < style.middle_odds.1 {
            name = join(&name, rng.pick(style.middles));
        }
    }
    let ends = match gender {
        Gender::Male => style.male_ends,
        Gender::Female => style.female_ends,
    };
    join(&name, rng.pick(ends))
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub count: usize,
    /// `None`: a random race per name.
    pub race: Option<&'a str>,
    /// `None`: a random gender per name.
    pub gender: Option<Gender>,
    pub seed: u64,
}

/// Up to `count` distinct names (fewer only if the tables cannot give more).
pub fn generate(req: &Request<'_>) -> Vec<String> {
    let mut rng = Rng::new(req.seed);
    let fixed = req.race.and_then(style_for);
    let mut seen = HashSet::new();
    let mut names = Vec::with_capacity(req.count);
    let mut attempts = 0;
    while names.len() < req.count && attempts < req.count * 200 + 200 {
        attempts += 1;
        let style = fixed.unwrap_or_else(|| &STYLES[rng.below(STYLES.len())]);
        let gender = req.gender.unwrap_or(if rng.below(2) == 0 {
            Gender::Male
        } else {
            Gender::Female
        });
        let lower = candidate(style, gender, &mut rng);
        if pronounceable(&lower) && seen.insert(lower.clone()) {
            names.push(capitalise(&lower));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_names() {
        let req = Request {
            count: 30,
            race: Some("orc"),
            gender: Some(Gender::Male),
            seed: 42,
        };
        assert_eq!(generate(&req), generate(&req));
        let other = Request {
            seed: 43,
            ..req.clone()
        };
        assert_ne!(generate(&req), generate(&other));
    }

    #[test]
    fn every_race_yields_valid_unique_names() {
        for style in &STYLES {
            for gender in [Gender::Male, Gender::Female] {
                let names = generate(&Request {
                    count: 40,
                    race: Some(style.race),
                    gender: Some(gender),
                    seed: 7,
                });
                assert_eq!(names.len(), 40, "{} {gender:?}", style.race);
                let unique: HashSet<&String> = names.iter().collect();
                assert_eq!(unique.len(), names.len());
                for n in &names {
                    assert!(pronounceable(&n.to_ascii_lowercase()), "{n}");
                    assert!(
                        n.chars().next().is_some_and(|c| c.is_ascii_uppercase()),
                        "{n}"
                    );
                }
            }
        }
    }

    #[test]
    fn unpronounceable_strings_are_refused() {
        for bad in [
            "a",
            "bcdfg",
            "aaab",
            "xyzqwrt",
            "toolongnameabc",
            "llor",
            "aeia",
            "kar1",
        ] {
            assert!(!pronounceable(bad), "{bad}");
        }
        for good in ["thrall", "jaina", "grom", "sylvanas"] {
            assert!(pronounceable(good), "{good}");
        }
    }
}
