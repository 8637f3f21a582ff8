//! Colours of the dashboard, in one place: connection states, chain lengths, the
//! selection, headers.

use ratatui::style::{Color, Modifier, Style};

/// The style of a connection's row, by its state: ESTABLISHED green, the opening
/// handshakes yellow, the closing states grey, UNREPLIED highlighted (magenta, bold).
pub fn conn_state(state: Option<&str>, unreplied: bool) -> Style {
    if unreplied {
        return Style::new()
            .fg(Color::LightMagenta)
            .add_modifier(Modifier::BOLD);
    }
    match state {
        Some("ESTABLISHED" | "OPEN") => Style::new().fg(Color::Green),
        Some(
            "SYN_SENT" | "SYN_RECV" | "SYN_SENT2" | "COOKIE_WAIT" | "COOKIE_ECHOED" | "REQUEST"
            | "RESPOND" | "PARTOPEN",
        ) => Style::new().fg(Color::Yellow),
        Some(
            "FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "TIME_WAIT" | "CLOSE" | "CLOSED"
            | "SHUTDOWN_SENT" | "SHUTDOWN_RECD" | "SHUTDOWN_ACK_SENT" | "CLOSEREQ" | "CLOSING"
            | "TIMEWAIT",
        ) => Style::new().fg(Color::DarkGray),
        Some("NONE") => Style::new().fg(Color::Red),
        _ => Style::new(),
    }
}

/// The colour of a heat-map cell for a chain of `len` nodes.
pub fn heat(len: u32) -> Style {
    match len {
        0 => Style::new().fg(Color::DarkGray),
        1 => Style::new().fg(Color::Green),
        2 => Style::new().fg(Color::LightGreen),
        3 => Style::new().fg(Color::Yellow),
        4..=5 => Style::new().fg(Color::LightRed),
        6..=9 => Style::new().fg(Color::Red),
        _ => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
    }
}

/// The character of a heat-map cell: `·` for an empty chain, its length's digit, `+`
/// beyond nine.
pub fn heat_char(len: u32) -> char {
    match len {
        0 => '·',
        1..=9 => char::from(b'0' + len as u8),
        _ => '+',
    }
}

/// The selected row or cell.
pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Table headers.
pub fn header() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

/// Labels in summaries.
pub fn label() -> Style {
    Style::new().fg(Color::Cyan)
}

/// Errors and the disconnected state.
pub fn error() -> Style {
    Style::new().fg(Color::White).bg(Color::Red)
}

/// Explanations of what a view does and does not show.
pub fn note() -> Style {
    Style::new()
        .fg(Color::DarkGray)
        .add_modifier(Modifier::ITALIC)
}
