//! Keys as the dashboard understands them, apart from the terminal library's events so
//! that the state can be driven by tests: [`Key`], and [`from_crossterm`] to map a
//! crossterm key event to one.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// A key press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Left arrow.
    Left,
    /// Right arrow.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Backspace.
    Backspace,
    /// Ctrl-C.
    Interrupt,
}

/// The key of a crossterm key event (presses and repeats only; releases are `None`).
pub fn from_crossterm(e: KeyEvent) -> Option<Key> {
    if e.kind == KeyEventKind::Release {
        return None;
    }
    if e.modifiers.contains(KeyModifiers::CONTROL) {
        return match e.code {
            KeyCode::Char('c') | KeyCode::Char('d') => Some(Key::Interrupt),
            _ => None,
        };
    }
    Some(match e.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

/// The help overlay's lines: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous view (1-5 jump to one)"),
    ("← ↓ ↑ → / h j k l", "move the selection"),
    (
        "PgUp / PgDn",
        "previous / next page (chains: window of buckets)",
    ),
    ("Home End / g G", "first / last"),
    ("Enter", "chains: show the selected bucket's whole chain"),
    ("n / N", "chains: next / previous bucket with a chain"),
    ("/", "filter (Enter applies, Esc cancels; empty clears)"),
    ("s / S", "connections: next sort column / reverse the order"),
    ("Esc", "close the open panel or overlay"),
    ("?", "this help"),
    ("q / Ctrl-C", "quit"),
];
