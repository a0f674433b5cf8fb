"""The still list's arithmetic (dashboard/inbox/views/stillness.py): which cards moved, and the
bar's key, which keeps a poll quiet while what it would say has not changed."""

from __future__ import annotations

from django.http import QueryDict

from dashboard.inbox.views.stillness import Bar, Screen, out_of_order


def test_one_card_moving_to_the_top_is_the_one_counted_as_moved_not_every_card_it_shifted():
    assert out_of_order(list("abcde"), list("eabcd")) == {"e"}


def test_cards_that_left_or_arrived_do_not_count_as_moved():
    assert out_of_order(list("abcde"), list("xacde")) == set()


def test_nothing_moved_in_an_unchanged_list():
    assert out_of_order(list("abc"), list("abc")) == set()


def test_the_bar_key_is_empty_for_nothing_and_follows_what_it_counts():
    assert Bar().key == ""
    assert Bar(new=["a"]).key == Bar(new=["a"]).key
    assert Bar(new=["a"]).key != Bar(more=["a"]).key


def test_the_poll_names_every_card_in_order_with_its_version_or_why_it_has_none():
    screen = Screen.parse(QueryDict("v=a:1,b:,c:-,d:4&busy=b&since=1700000000&bar=k"))
    assert screen.order == ["a", "b", "c", "d"]
    assert screen.versions == {"a": "1", "d": "4"}
    assert screen.off_page == {"c"} and screen.busy == {"b"} and screen.bar_key == "k"
    assert screen.drawn_at.year == 2023
    assert Screen.parse(QueryDict("v=&since=nonsense")).drawn_at is None
