from assistant.prompting.citations import cited_numbers, remove_invalid_markers, strip_markers


def test_cited_numbers_reads_single_and_grouped_markers_in_order():
    assert cited_numbers("A [2]. B [1, 3] and C [3; 4] again [2].") == [2, 1, 3, 4]


def test_markers_naming_no_passage_are_removed_and_valid_ones_kept():
    assert remove_invalid_markers("X [1] Y [7] Z [2, 9]", {1, 2}) == "X [1] Y  Z [2]"


def test_stripped_text_has_no_markers_and_no_space_left_before_them():
    assert strip_markers("20 bottles [1]. Monday [2, 3].") == "20 bottles. Monday."


def test_the_prompts_placeholder_copied_literally_is_removed():
    assert remove_invalid_markers("20,000 [n] [1].", {1}) == "20,000 [1]."


def test_markers_in_another_shape_are_read_as_numbers():
    assert remove_invalid_markers('150 euros [n=1]. Meals [source 2] (Source 3) [n="2"].', {1, 2}) == \
        "150 euros [1]. Meals [2]  [2]."


def test_the_prompts_source_tags_echoed_back_are_removed():
    assert remove_invalid_markers('<source n="1" document="memo.pdf">\n20,000 bottles [1].\n</source>', {1}) == \
        "20,000 bottles [1].\n"
