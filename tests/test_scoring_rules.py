"""Rule sets, eras, outcome classification and contract weights."""

import numpy as np
import pytest

from marketplace.scoring import (
    END_REASONS,
    REASONS,
    RULE_SET_NAMES,
    Outcome,
    RuleSet,
    classify_outcomes,
    contract_weights,
    get_rules,
)

S, U, N, X = Outcome.SUCCESS, Outcome.NEUTRAL, Outcome.NEGATIVE, Outcome.EXCLUDED
nan = np.nan


def classify(private, public=None, end=None, earnings=None, flagged=None, removed=None,
             rules=None, **kw):
    k = len(private)
    rules = rules or get_rules("upwork-2023")
    out, reason = classify_outcomes(
        np.asarray(private, dtype=float),
        np.full(k, nan) if public is None else np.asarray(public, dtype=float),
        np.zeros(k, np.int8) if end is None else np.array([END_REASONS.index(e) for e in end]),
        np.full(k, 500.0) if earnings is None else np.asarray(earnings, dtype=float),
        flagged, removed, rules, **kw,
    )
    return list(out), [REASONS[r] for r in reason]


def test_eras_exist_and_are_named():
    assert set(RULE_SET_NAMES) >= {"upwork-2015", "upwork-2020", "upwork-2023", "upwork-2024"}
    for name in RULE_SET_NAMES:
        assert get_rules(name).name == name


def test_unknown_rule_set_names_it_and_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown rule set 'upwork-1999'.*upwork-2023"):
        get_rules("upwork-1999")


def test_unknown_field_names_it_and_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown rule field 'perk'.*removal_perk"):
        get_rules("upwork-2023", perk=False)


def test_bad_value_names_the_field():
    with pytest.raises(ValueError, match="fee_schedule"):
        get_rules("upwork-2023", fee_schedule="weekly")
    with pytest.raises(ValueError, match="window_weeks"):
        get_rules("upwork-2023", window_weeks=(104, 52, 26))
    with pytest.raises(ValueError, match="displayed"):
        get_rules("upwork-2023", displayed=("1m",))


def test_overrides_change_one_rule_only():
    base = get_rules("upwork-2023")
    r = get_rules("upwork-2023", removal_perk=False)
    assert not r.removal_perk
    assert r == RuleSet(**{**base.to_dict(), "removal_perk": False})
    assert r == get_rules("upwork-2024").__class__(**{**get_rules("upwork-2024").to_dict(),
                                                       "name": "upwork-2023"})


def test_rules_are_frozen():
    with pytest.raises(AttributeError):
        get_rules().removal_perk = False  # type: ignore[misc]


def test_era_differences():
    r15, r20, r23, r24 = (get_rules(n) for n in
                          ("upwork-2015", "upwork-2020", "upwork-2023", "upwork-2024"))
    assert r15.missing_feedback == "negative_if_large_share"
    assert r20.missing_feedback == r23.missing_feedback == "exclude"
    assert (r15.visibility_min_outcomes, r15.visibility_min_clients) == (3, 3)
    assert (r20.visibility_min_outcomes, r20.visibility_min_clients) == (4, 2)
    assert (r23.visibility_min_outcomes, r23.visibility_min_clients) == (2, 2)
    assert not r15.job_size_weights and r20.job_size_weights
    assert r15.fee_schedule == r20.fee_schedule == "tiered" and r23.fee_schedule == "flat"
    assert r23.removal_perk and not r24.removal_perk
    assert "trending" not in r15.displayed and "trending" in r20.displayed


def test_private_score_bands():
    out, why = classify([10, 9, 8, 7, 6, 0])
    assert out == [S, S, U, U, N, N]
    assert set(why) == {"private_score"}


def test_dispute_is_negative_even_with_good_feedback():
    out, why = classify([10], public=[5], end=["dispute"])
    assert out == [N] and why == ["dispute"]
    out, _ = classify([10], end=["dispute"], rules=get_rules(dispute_is_negative=False))
    assert out == [S]


def test_no_feedback_excluded():
    out, why = classify([nan])
    assert out == [X] and why == ["no_feedback"]


def test_zero_earnings_positive_or_neutral_excluded_negative_counts():
    out, why = classify([10, 8, 3, nan], earnings=[0, 0, 0, 0])
    assert out == [X, X, N, X]
    assert why == ["zero_earnings", "zero_earnings", "private_score", "no_feedback"]
    # 2015 rules: a $0 positive job still counted.
    out, _ = classify([10], earnings=[0], rules=get_rules("upwork-2015"))
    assert out == [S]


def test_full_refund_hides_public_stars_but_negative_private_counts():
    # Full refund: $0 kept, public stars hidden (NaN), private 2 -> negative.
    out, why = classify([2], public=[nan], earnings=[0])
    assert out == [N] and why == ["private_score"]


def test_public_stars_fallback_mapping():
    out, why = classify([nan] * 5, public=[5, 4.5, 4.4, 3.5, 3.4])
    assert out == [S, S, U, U, N]
    assert set(why) == {"public_stars"}
    out, _ = classify([nan], public=[5], rules=get_rules(use_public_stars_fallback=False))
    assert out == [X]


def test_private_score_wins_over_public_stars():
    # The documented wedge: 5 public stars, privately unhappy.
    out, _ = classify([3], public=[5])
    assert out == [N]


def test_flagged_client_and_removed_excluded():
    out, why = classify([2, 2, 2], flagged=np.array([True, False, True]),
                        removed=np.array([False, True, True]))
    assert out == [X, X, X]
    assert why == ["flagged_client", "removed", "removed"]
    out, _ = classify([2], flagged=np.array([True]), rules=get_rules(client_flagging=False))
    assert out == [N]


def test_flagged_client_dispute_is_excluded():
    out, why = classify([nan], end=["dispute"], flagged=np.array([True]))
    assert out == [X] and why == ["flagged_client"]


def test_ongoing_needs_13_paid_weeks_and_recent_payment():
    kw = dict(ongoing=np.array([True, True, True, False]), paid_weeks=np.array([13, 12, 30, 30]),
              last_payment_week=np.array([50, 50, 30, 50]), week=50)
    out, why = classify([nan] * 4, **kw)
    assert out == [S, X, X, X]
    assert why == ["ongoing_long_term", "ongoing", "ongoing", "no_feedback"]
    out, _ = classify([nan] * 4, rules=get_rules(count_ongoing_long_term=False), **kw)
    assert out == [X, X, X, X]


def test_size_weights_and_cut_points():
    r = get_rules("upwork-2023")
    w = contract_weights([0, 1, 250, 250.01, 1000, 1000.01, 50_000], None, r)
    np.testing.assert_allclose(w, [1, 1, 1, 1.25, 1.25, 1.5, 1.5])
    r15 = get_rules("upwork-2015")
    np.testing.assert_allclose(contract_weights([100, 5000], None, r15), [1, 1])


def test_long_term_extra_weight_and_cap():
    r = get_rules("upwork-2023")
    w = contract_weights([100, 100, 100, 2000, 2000], [12, 13, 26, 52, 520], r)
    np.testing.assert_allclose(w, [1, 2, 3, 5.5, 8.0])
    np.testing.assert_allclose(
        contract_weights([2000], [520], get_rules(weight_cap=float("inf"))), [41.5])
    np.testing.assert_allclose(
        contract_weights([2000], [520], get_rules(long_term_extra_weight=0)), [1.5])


def test_each_era_scores_the_example_history():
    from pathlib import Path

    from marketplace.scoring import read_history_csv, score_history

    df = read_history_csv(Path(__file__).resolve().parents[1] / "examples" / "contracts.csv")
    jss = {name: score_history(df, rules=name).freelancers.set_index("freelancer_id")["jss"]
           for name in RULE_SET_NAMES}
    # 2024 differs from 2023 only by the removal perk, which the history already applied.
    assert jss["upwork-2024"].equals(jss["upwork-2023"])
    # 2020: 4 outcomes from 2 clients needed; cara (4 counted) and fay (5) keep a JSS.
    assert jss["upwork-2020"].notna().sum() == 4
    # 2015: $0 positive job counted (cara 3 successes + 1 = 4 of 5) and no trending score.
    assert jss["upwork-2015"]["cara"] == 60.0
    assert jss["upwork-2023"]["cara"] == 100.0  # best-of windows with 2 outcomes in 12 months
    for era in RULE_SET_NAMES:
        assert np.isnan(jss[era]["dev"]) and np.isnan(jss[era]["eli"])
        assert jss[era]["ben"] == 80.0


def test_weights_stay_fractional_when_custom_size_weights_are_whole_numbers():
    # a rules file may give whole-number weights; the long-term extra and the cap still apply
    r = get_rules("upwork-2023", job_size_weights=False, size_weights=(1, 2, 3))
    w = contract_weights([100.0, 5000.0, 100.0], [26.0, 3.0, 520.0], r)
    assert w.dtype == np.float64
    np.testing.assert_array_equal(w, [3.0, 1.0, 8.0])


def test_weights_of_contracts_without_paid_weeks_get_no_long_term_extra():
    r = get_rules("upwork-2023")
    w = contract_weights([100.0, 100.0, 2000.0], [np.nan, -13.0, np.nan], r)
    np.testing.assert_array_equal(w, [1.0, 1.0, 1.5])


@pytest.mark.parametrize(("override", "ok"), [
    ({"private_success_min": 10, "private_neutral_min": 10}, True),
    ({"private_success_min": 11}, False),
])
def test_private_score_thresholds_stay_within_0_to_10(override, ok):
    if ok:
        assert get_rules("upwork-2023", **override).private_success_min == 10
    else:
        with pytest.raises(ValueError, match="private_success_min"):
            get_rules("upwork-2023", **override)
