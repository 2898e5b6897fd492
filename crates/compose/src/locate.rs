//! The line of a key path (`services.web.ports[1]`) in a compose file's text. The YAML library
//! gives lines only for syntax errors; type errors are found after interpolation and merging,
//! on values that no longer carry positions, so the path is looked up in the text. Block-style
//! YAML (what compose files are written in) is followed by indentation; inside a flow
//! collection (`[a, b]`, `{a: 1}`) the line of the deepest key found is given.

/// Splits `services.web.ports[1].target` into `services`, `web`, `ports`, `[1]`, `target`.
fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match part.find('[') {
            Some(at) => {
                if at > 0 {
                    out.push(&part[..at]);
                }
                let mut rest = &part[at..];
                while let Some(end) = rest.find(']') {
                    out.push(&rest[..=end]);
                    rest = &rest[end + 1..];
                }
            }
            None => out.push(part),
        }
    }
    out
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#') && t != "---"
}

/// 1-based line of the deepest part of `path` found in `text`.
pub fn find_line(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    // The block searched: lines from `start` indented more than `parent`; `item_line` is the
    // `- key: v` line a sequence item starts on, whose key belongs to the item.
    let (mut start, mut parent, mut item_line) = (0, None::<usize>, None);
    for seg in segments(path) {
        let is_item = |i: usize| lines[i].trim_start().starts_with('-');
        let deeper = |i: usize| parent.is_none_or(|p| indent(lines[i]) > p);
        let block = (start..lines.len()).filter(|&i| is_content(lines[i]));
        let hit = if let Some(n) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let n: usize = n.parse().ok()?;
            // Items may sit at their key's indent (`ports:` then `- 80`) or deeper.
            let same = |i: usize| parent.is_some_and(|p| indent(lines[i]) == p) && is_item(i);
            let items: Vec<usize> = block
                .take_while(|&i| deeper(i) || same(i))
                .filter(|&i| is_item(i))
                .collect();
            let first = items.first().map(|&i| indent(lines[i]));
            items
                .into_iter()
                .filter(|&i| Some(indent(lines[i])) == first)
                .nth(n)
                .map(|i| (i, indent(lines[i]), Some(i)))
        } else {
            block
                .take_while(|&i| deeper(i) || item_line == Some(i))
                .find_map(|i| {
                    let t = lines[i].trim_start().trim_start_matches(['-', ' ']);
                    let (key, _) = t.split_once(':')?;
                    (key.trim().trim_matches(['"', '\'']) == seg).then_some((
                        i,
                        indent(lines[i]),
                        None,
                    ))
                })
        };
        let Some((line, ind, item)) = hit else {
            return found;
        };
        found = Some(line + 1);
        parent = Some(ind);
        item_line = item;
        start = if item.is_some() { line } else { line + 1 };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
version: \"3.8\"
services:
  web:
    image: nginx
    ports:
      - \"80:80\"
      - target: 443
        published: 8443
    deploy:
      replicas: two
  db:
    deploy:
      replicas: 1
";

    #[test]
    fn finds_keys_items_and_keys_in_items() {
        for (path, line) in [
            ("version", 1),
            ("services.web.deploy.replicas", 10),
            ("services.db.deploy.replicas", 13),
            ("services.web.ports[0]", 6),
            ("services.web.ports[1]", 7),
            ("services.web.ports[1].published", 8),
            ("services.web.ports[1].mode", 7),
            ("services.web.image", 4),
            ("services.cache", 2),
        ] {
            assert_eq!(find_line(TEXT, path), Some(line), "{path}");
        }
        assert_eq!(find_line(TEXT, "networks"), None);
    }
}
