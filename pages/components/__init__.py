"""Small input widgets the pages share: model pickers, parameter forms, segment pickers, chart layout."""
