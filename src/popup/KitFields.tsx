/** The recovery kit file and its secret, as every page that opens a kit asks for them; test ids are `${prefix}-kit-file` and `${prefix}-secret`. */
export function KitFields(props: { prefix: string; busy: boolean; secret: string; onKit: (text: string | undefined) => void; onSecret: (secret: string) => void }) {
  return (
    <>
      <label>
        Recovery kit file
        <input
          type="file"
          accept=".json,application/json"
          data-testid={`${props.prefix}-kit-file`}
          disabled={props.busy}
          onChange={async (event) => props.onKit(await (event.currentTarget as HTMLInputElement).files?.[0]?.text())}
        />
      </label>
      <label>
        Recovery secret
        <input
          type="text"
          data-testid={`${props.prefix}-secret`}
          autoComplete="off"
          spellcheck={false}
          disabled={props.busy}
          value={props.secret}
          onInput={(event) => props.onSecret(event.currentTarget.value)}
        />
      </label>
    </>
  );
}
