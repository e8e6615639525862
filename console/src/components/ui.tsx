import { useState, type ReactNode } from "react";
import {
  Button as AriaButton,
  type ButtonProps,
  Dialog,
  DialogTrigger,
  FieldError,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Modal,
  ModalOverlay,
  Popover,
  Select as AriaSelect,
  SelectValue,
  Switch as AriaSwitch,
  Text,
  TextArea,
  TextField as AriaTextField,
} from "react-aria-components";

/**
 * The console's controls: react-aria-components (Adobe's accessible, unstyled widgets — keyboard,
 * focus, labels and ARIA handled by the library) with the console's styles. Pages use these, never
 * hand-rolled widgets.
 */

export function Button({ variant = "secondary", className, ...props }: ButtonProps & { variant?: "primary" | "secondary" | "danger" }) {
  return <AriaButton {...props} className={`button button-${variant}${className ? ` ${className}` : ""}`} />;
}

export function TextField(props: {
  label: string;
  value: string;
  onChange(value: string): void;
  description?: string;
  type?: "text" | "email" | "search" | "datetime-local" | "date" | "url";
  isRequired?: boolean;
  isDisabled?: boolean;
  multiline?: boolean;
  autoFocus?: boolean;
  name?: string;
}) {
  return (
    <AriaTextField
      className="field"
      value={props.value}
      onChange={props.onChange}
      type={props.type ?? "text"}
      {...(props.name ? { name: props.name } : {})}
      isRequired={props.isRequired ?? false}
      isDisabled={props.isDisabled ?? false}
      autoFocus={props.autoFocus ?? false}
    >
      <Label>{props.label}</Label>
      {props.multiline ? <TextArea rows={6} /> : <Input />}
      {props.description ? <Text slot="description">{props.description}</Text> : null}
      <FieldError />
    </AriaTextField>
  );
}

export interface Option {
  id: string;
  label: string;
}

export function Select(props: { label: string; options: Option[]; value: string; onChange(value: string): void; isDisabled?: boolean; description?: string }) {
  return (
    <AriaSelect
      className="field select"
      selectedKey={props.value}
      onSelectionChange={(key) => key !== null && props.onChange(String(key))}
      isDisabled={props.isDisabled ?? false}
    >
      <Label>{props.label}</Label>
      <AriaButton className="select-button">
        <SelectValue />
        <span aria-hidden="true">▾</span>
      </AriaButton>
      {props.description ? <Text slot="description">{props.description}</Text> : null}
      <Popover className="popover">
        <ListBox className="listbox">
          {props.options.map((option) => (
            <ListBoxItem key={option.id} id={option.id} className="listbox-item" textValue={option.label}>
              {option.label}
            </ListBoxItem>
          ))}
        </ListBox>
      </Popover>
    </AriaSelect>
  );
}

export function Switch({ label, isSelected, onChange, description, isDisabled }: { label: string; isSelected: boolean; onChange(value: boolean): void; description: string; isDisabled?: boolean }) {
  return (
    <div className="switch-field">
      <AriaSwitch className="switch" isSelected={isSelected} onChange={onChange} isDisabled={isDisabled ?? false}>
        <span className="switch-indicator" aria-hidden="true" />
        {label}
      </AriaSwitch>
      <p className="hint">{description}</p>
    </div>
  );
}

/** A modal dialog opened by a button; `children` gets `close`. */
export function DialogButton(props: { label: string; ariaLabel?: string; title: string; variant?: "primary" | "secondary" | "danger"; isDisabled?: boolean; children(close: () => void): ReactNode }) {
  return (
    <DialogTrigger>
      <Button variant={props.variant ?? "secondary"} isDisabled={props.isDisabled ?? false} {...(props.ariaLabel ? { "aria-label": props.ariaLabel } : {})}>
        {props.label}
      </Button>
      <ModalOverlay className="modal-overlay" isDismissable>
        <Modal className="modal">
          <Dialog className="dialog">
            {({ close }) => (
              <>
                <Heading slot="title">{props.title}</Heading>
                {props.children(close)}
              </>
            )}
          </Dialog>
        </Modal>
      </ModalOverlay>
    </DialogTrigger>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** The API's message, as it is. */
export function ErrorNotice({ message }: { message: string }) {
  return (
    <p className="state state-error" role="alert">
      {message}
    </p>
  );
}

export function Badge({ tone = "neutral", children }: { tone?: "neutral" | "managed" | "warning" | "danger" | "ok"; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/** A value to copy into another system (the identity provider's set-up), with a copy button. */
export function CopyValue({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="copy-value">
      <span className="copy-label">{label}</span>
      <code>{value}</code>
      <Button
        aria-label={`Copy ${label}`}
        onPress={() => {
          void navigator.clipboard?.writeText(value).then(() => setCopied(true));
        }}
      >
        {copied ? "Copied" : "Copy"}
      </Button>
    </div>
  );
}

/**
 * A secret in the one answer that carries it (a new token, a webhook's signing secret): what it is,
 * a copy button, and "I have copied it" to put it away; the lists never have it again.
 */
export function SecretShownOnce({ children, label, value, onDone }: { children: ReactNode; label: string; value: string; onDone(): void }) {
  return (
    <div className="issued" role="status">
      <p>{children}</p>
      <CopyValue label={label} value={value} />
      <Button onPress={onDone}>I have copied it</Button>
    </div>
  );
}

/** Runs a change against the API, showing "working" and the API's message when it fails. */
export function useAction(): { busy: boolean; error: string | null; run(action: () => Promise<unknown>): Promise<boolean>; clear(): void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    async run(action) {
      setBusy(true);
      setError(null);
      try {
        await action();
        return true;
      } catch (caught) {
        setError(caught instanceof Error ? caught.message : String(caught));
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}

export const formatTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");
