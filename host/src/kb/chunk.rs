//! Splitting documents into chunks: chunks follow headings (never cross one) and paragraphs
//! (merged up to a target size), each titled by its nearest heading, with stable ids
//! `<relative path>#<n>`.

/// Paragraphs are merged into one chunk up to about this many characters.
pub const TARGET_CHARS: usize = 800;

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub id: String,
    pub title: String,
    pub content: String,
}

/// Chunks of one document. `relative` is its path inside the knowledge base ('/'-separated).
pub fn chunk_document(relative: &str, text: &str) -> Vec<Chunk> {
    let markdown = relative.ends_with(".md");
    let stem = relative.rsplit('/').next().unwrap_or(relative);
    let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s).to_string();
    let mut title = stem.clone();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, title: &str, sections: &mut Vec<(String, Vec<String>)>| {
        let text = paragraph.trim();
        if !text.is_empty() {
            match sections.last_mut() {
                Some((t, paragraphs)) if t == title => paragraphs.push(text.to_string()),
                _ => sections.push((title.to_string(), vec![text.to_string()])),
            }
        }
        paragraph.clear();
    };
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if markdown && trimmed.starts_with("```") {
            in_fence = !in_fence;
        }
        let heading = markdown && !in_fence && trimmed.starts_with('#') && {
            let level = trimmed.chars().take_while(|c| *c == '#').count();
            level <= 6 && trimmed[level..].starts_with(' ')
        };
        if heading {
            flush(&mut paragraph, &title, &mut sections);
            title = trimmed.trim_start_matches('#').trim().to_string();
            if title.is_empty() {
                title = stem.clone();
            }
        } else if trimmed.is_empty() && !in_fence {
            flush(&mut paragraph, &title, &mut sections);
        } else {
            if !paragraph.is_empty() {
                paragraph.push('\n');
            }
            paragraph.push_str(line.trim_end());
        }
    }
    flush(&mut paragraph, &title, &mut sections);

    let mut pieces: Vec<(String, String)> = Vec::new();
    for (title, paragraphs) in sections {
        let mut content = String::new();
        for paragraph in paragraphs {
            if !content.is_empty() && content.len() + paragraph.len() + 2 > TARGET_CHARS {
                pieces.push((title.clone(), std::mem::take(&mut content)));
            }
            if !content.is_empty() {
                content.push_str("\n\n");
            }
            content.push_str(&paragraph);
        }
        if !content.is_empty() {
            pieces.push((title, content));
        }
    }
    pieces
        .into_iter()
        .enumerate()
        .map(|(n, (title, content))| Chunk {
            id: format!("{relative}#{n}"),
            title,
            content,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_split_and_title_chunks() {
        let doc = "# Guide\n\nIntro text.\n\n## Retry\n\nRetries double.\nStill retry.\n\nMore retry.\n\n## Breakers\nThey open.";
        let chunks = chunk_document("ops/guide.md", doc);
        let view: Vec<(&str, &str, &str)> = chunks
            .iter()
            .map(|c| (c.id.as_str(), c.title.as_str(), c.content.as_str()))
            .collect();
        assert_eq!(
            view,
            [
                ("ops/guide.md#0", "Guide", "Intro text."),
                (
                    "ops/guide.md#1",
                    "Retry",
                    "Retries double.\nStill retry.\n\nMore retry."
                ),
                ("ops/guide.md#2", "Breakers", "They open."),
            ]
        );
    }

    #[test]
    fn long_sections_split_on_paragraphs() {
        let paragraph = "word ".repeat(100);
        let doc = format!("# Big\n\n{paragraph}\n\n{paragraph}\n\n{paragraph}");
        let chunks = chunk_document("big.md", &doc);
        assert_eq!(chunks.len(), 3);
        assert!(
            chunks
                .iter()
                .all(|c| c.title == "Big" && c.content.len() <= TARGET_CHARS)
        );
    }

    #[test]
    fn text_files_use_the_file_name_and_keep_hashes() {
        let chunks = chunk_document("notes/faq.txt", "# not a heading in txt\n\nsecond");
        assert_eq!(chunks.len(), 1, "short paragraphs merge");
        assert_eq!(chunks[0].title, "faq");
        assert_eq!(chunks[0].content, "# not a heading in txt\n\nsecond");
        assert_eq!(chunks[0].id, "notes/faq.txt#0");
    }

    #[test]
    fn code_fences_are_not_headings() {
        let chunks = chunk_document("a.md", "# T\n\n```\n# comment\n\nstill code\n```");
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].title, "T");
    }

    #[test]
    fn empty_and_whitespace_documents_have_no_chunks() {
        assert!(chunk_document("e.md", "").is_empty());
        assert!(chunk_document("e.md", "\n\n   \n# Title only\n").is_empty());
    }
}
