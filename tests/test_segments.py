import dataclasses
import math

import pytest

from bot.channels.segments import GSM_BASIC, GSM_EXTENSION, Segments, count, split

KA = "\u0995"  # ক, 1 UTF-16 unit
KSSA = "\u0995\u09cd\u09b7"  # ক্ষ conjunct (ka + hasanta + ssa), 3 units
KI = "\u0995\u09bf"  # কি consonant + vowel sign i, 2 units
EMOJI = "\U0001f600"  # 😀 surrogate pair, 2 units
FLAG_BD = "\U0001f1e7\U0001f1e9"  # 🇧🇩 regional indicator pair, 4 units
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # ZWJ sequence, 8 units


def test_gsm_table_sizes():
    assert len(GSM_BASIC) == 127  # 128 code points minus ESC
    assert len(GSM_EXTENSION) == 10


@pytest.mark.parametrize(
    "n, segments", [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm_lengths(n, segments):
    assert count("a" * n) == Segments("GSM-7", segments, n)


@pytest.mark.parametrize(
    "n, segments", [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_lengths(n, segments):
    assert count(KA * n) == Segments("UCS-2", segments, n)


def test_empty_text_is_one_segment_like_twilio_calculator():
    assert count("") == Segments("GSM-7", 1, 0)
    assert split("") == [""]


def test_euro_and_extension_chars_cost_two_septets():
    assert count("€") == Segments("GSM-7", 1, 2)
    assert count("^{}\\[~]|€\f").units == 20
    assert count("€" * 80) == Segments("GSM-7", 1, 160)
    assert count("€" * 81) == Segments("GSM-7", 2, 162)


def test_gsm_escape_pair_not_split():
    text = "a" * 152 + "€" + "a" * 152  # 306 septets, but € cannot straddle
    assert count(text) == Segments("GSM-7", 3, 306)
    assert split(text)[0] == "a" * 152
    assert split(text)[1].startswith("€")


def test_single_bengali_digit_forces_ucs2():
    assert count("Class 5").encoding == "GSM-7"
    assert count("Class \u09eb") == Segments("UCS-2", 1, 7)  # ৫


def test_gsm_chars_cost_one_unit_in_ucs2():
    assert count("€" + KA) == Segments("UCS-2", 1, 2)


def test_non_gsm_latin_forces_ucs2():
    assert count("`").encoding == "UCS-2"  # backtick is not in GSM 03.38
    assert count("ç").encoding == "UCS-2"  # only capital Ç is
    assert count("Ç").encoding == "GSM-7"


def test_crlf_stays_gsm():
    assert count("a\r\nb") == Segments("GSM-7", 1, 4)


def test_conjunct_at_boundary_moves_whole_to_next_segment():
    text = KA * 66 + KSSA + KA * 65  # 134 units: ceil(134/67) would say 2
    parts = split(text)
    assert count(text) == Segments("UCS-2", 3, 134)
    assert parts[0] == KA * 66
    assert parts[1].startswith(KSSA)
    assert "".join(parts) == text


def test_vowel_sign_stays_with_consonant():
    text = KA * 66 + KI + KA * 66  # 134 units
    parts = split(text)
    assert count(text).segments == 3
    assert parts[0] == KA * 66 and parts[1].startswith(KI)


def test_conjunct_that_fits_is_not_moved():
    text = KA * 64 + KSSA + KA * 10  # conjunct ends exactly at unit 67
    assert split(text)[0] == KA * 64 + KSSA
    assert count(text).segments == 2


@pytest.mark.parametrize("emoji", [EMOJI, FLAG_BD, FAMILY])
def test_emoji_at_boundary_moves_whole(emoji):
    text = KA * 66 + emoji + KA * 67
    units = 66 + len(emoji.encode("utf-16-le")) // 2 + 67
    parts = split(text)
    assert count(text) == Segments("UCS-2", 3, units)
    assert parts[0] == KA * 66 and parts[1].startswith(emoji)


def test_greedy_can_exceed_ceil_of_units():
    text = KA * 66 + EMOJI + KA * 66  # 134 units
    assert math.ceil(134 / 67) == 2
    assert count(text) == Segments("UCS-2", 3, 134)
    assert count(KA * 66 + EMOJI + KA * 65).segments == 2  # 66 | 2 + 65


def test_every_segment_fits():
    text = ("\u0986\u09ae\u09bf \u09b6\u09bf\u0995\u09cd\u09b7\u0995 " + FAMILY) * 20
    for part in split(text):
        assert len(part.encode("utf-16-le")) // 2 <= 67
    assert "".join(split(text)) == text


def test_oversized_cluster_is_split_by_code_point():
    text = "a" + "\u0301" * 100  # one grapheme cluster of 101 units
    assert count(text) == Segments("UCS-2", 2, 101)
    assert [len(p) for p in split(text)] == [67, 34]


def test_segments_is_frozen_and_serialisable():
    s = count("hello")
    assert s.as_dict() == {"encoding": "GSM-7", "segments": 1, "units": 5}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.units = 3


@pytest.mark.parametrize("cluster", [
    "\u09b8\u09cd\u09a4\u09cd\u09b0",  # স্ত্র: three consonants joined by two hasantas, 5 units
    "\u0995\u09cd\u09b7\u09bf",  # ক্ষি: a conjunct with its vowel sign, 4 units
    "\u09b6\u09bf\u0982",  # শিং: vowel sign and anusvara, 3 units
])
def test_longer_bangla_clusters_move_whole(cluster):
    units = len(cluster.encode("utf-16-le")) // 2
    text = KA * 65 + cluster + KA * (134 - 65 - units)  # 134 units: ceil(134/67) would say 2
    parts = split(text)
    assert parts[0] == KA * 65 and parts[1].startswith(cluster)
    assert count(text) == Segments("UCS-2", 3, 134)


def test_emoji_alone_costs_two_utf16_units_and_forces_ucs2():
    assert count("ok \U0001f600") == Segments("UCS-2", 1, 5)
    assert count("\U0001f600" * 35) == Segments("UCS-2", 1, 70)
    assert count("\U0001f600" * 36) == Segments("UCS-2", 2, 72)
