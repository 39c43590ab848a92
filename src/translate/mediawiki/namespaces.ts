// 1.4's brokenlinks names a link target as prefixed text ("User_talk:Foo"); 1.5's pagelinks as
// (namespace, title). The prefixes are the wiki's localized namespace names.

/** Namespace by prefix, from the wiki's names by namespace (as Language::getNsText gives them). */
export function namespacesByName(names: ReadonlyMap<number, string>): ReadonlyMap<string, number> {
  return new Map([...names].filter(([ns, name]) => ns !== 0 && name !== '').map(([ns, name]) => [name, ns]));
}

/**
 * The English namespace names 1.4 writes, in MediaWiki's order (the order the 1.5 updater tries
 * them in); namespace 4 is $wgMetaNamespace, by default $wgSitename.
 */
export function defaultNamespaces(metaNamespace = 'Wikipedia'): ReadonlyMap<string, number> {
  return namespacesByName(new Map([
    [-2, 'Media'], [-1, 'Special'], [1, 'Talk'], [2, 'User'], [3, 'User_talk'], [4, metaNamespace], [5, `${metaNamespace}_talk`],
    [6, 'Image'], [7, 'Image_talk'], [8, 'MediaWiki'], [9, 'MediaWiki_talk'], [10, 'Template'], [11, 'Template_talk'],
    [12, 'Help'], [13, 'Help_talk'], [14, 'Category'], [15, 'Category_talk'],
  ]));
}

/**
 * (namespace, title) of a prefixed db key, byte-exact, as the 1.5 updater files brokenlinks: the
 * first namespace (in the map's order) whose `Name:` starts the text, with every leading
 * repetition of it trimmed (TRIM(LEADING ...)); a main-namespace title otherwise.
 */
export function splitPrefixedTitle(text: Buffer, namespaces: ReadonlyMap<string, number>): { ns: number; title: Buffer } {
  for (const [name, ns] of namespaces) {
    const prefix = Buffer.from(`${name}:`, 'utf8');
    if (!startsWith(text, prefix)) continue;
    let title = text;
    while (startsWith(title, prefix)) title = title.subarray(prefix.length);
    return { ns, title };
  }
  return { ns: 0, title: text };
}

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.subarray(0, prefix.length).equals(prefix);
}
