"""What stopped a teacher, in words, coded as the officers' digests count it."""
import pytest

from bot import nlu
from bot.nlu import defaults, thresholds


@pytest.mark.parametrize("text,code", [
    ("ei soptahe ekdom somoy pelam na", "time"),
    ("পরীক্ষার জন্য ক্লাস নেওয়া হয়নি", "time"),
    ("counting er jonno kono guti chilo na", "materials"),
    ("কার্ড আর কাঠি কোনোটাই ছিল না", "materials"),
    ("bacchara kichu bujhte pareni", "understanding"),
    ("the children found it too difficult", "understanding"),
    ("ami nije osustho chilam", "other"),
])
def test_free_text_is_coded(rt, text, code):
    found = nlu.obstacle(rt, text)
    assert found is not None and found[0] == code, (text, found)
    assert thresholds.bar("obstacles", code) <= found[1] <= 1


def test_a_reply_that_names_no_obstacle_is_not_coded(rt):
    """Not even as "other", the catch-all: it would be counted in the officers' digests."""
    for text in ("", "   ", "xqzv bnmw", "?", "ok", "na", "ji", "thank you apa",
                 "hae korechi, bacchara anondo peyeche"):
        assert nlu.obstacle(rt, text) is None, text


def test_the_codes_are_the_four_the_digests_count():
    assert defaults.OBSTACLES == ("time", "materials", "understanding", "other")
    assert set(thresholds.load()["obstacles"]["bars"]) == \
        {*defaults.OBSTACLES, defaults.NOT_AN_OBSTACLE}


def test_the_coder_speaks_the_codes_the_reflection_stores():
    from bot.nlu import defaults
    from bot.store.models import OBSTACLES

    assert defaults.OBSTACLES == OBSTACLES
