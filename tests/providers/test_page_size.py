"""Each provider's page size is checked the same way, by `voice_usage.provider.check_page_size`."""

import pytest

from voice_usage.provider import check_page_size
from voice_usage_retell import RetellProvider
from voice_usage_twilio import TwilioProvider
from voice_usage_vapi import VapiProvider


def test_a_page_size_in_range_is_kept_and_one_outside_is_refused():
    assert check_page_size(1, 1000) == 1
    assert check_page_size(1000, 1000) == 1000
    for wrong in (0, -5, 1001):
        with pytest.raises(
            ValueError, match=f"^page_size must be between 1 and 1000, got {wrong}$"
        ):
            check_page_size(wrong, 1000)


@pytest.mark.parametrize("provider", [RetellProvider, TwilioProvider, VapiProvider])
def test_every_list_of_a_thousand_takes_one_to_a_thousand(provider):
    # Retell's list-calls, Twilio's PageSize and Vapi's limit all document a maximum of 1000.
    assert provider().page_size == 1000
    assert provider(page_size=7).page_size == 7
    for wrong in (0, 1001):
        with pytest.raises(ValueError, match=f"between 1 and 1000, got {wrong}"):
            provider(page_size=wrong)
